"""Proposals: the proposals area of Linli (drafts, photos, supports, the planner's answers and
merging). Ballots over shortlisted proposals live in `proposals.ballots`. `init_app` plugs the
area into the core."""
from __future__ import annotations

from decimal import Decimal

from flask import Flask
from flask_babel import lazy_gettext as _l

from participation import audit, notifications
from participation.consultations import phase_open
from participation.phases import add_feature
from participation.policy import (
    Context,
    Role,
    all_of,
    any_of,
    anyone,
    has_role,
    is_admin,
    is_author,
    is_planner,
    not_blocked,
)
from participation.registries import (
    AgendaLink,
    CommunityTab,
    ConsultationPanel,
    PlanSource,
    add_agenda_link,
    add_plan_source,
    SiteReference,
    add_community_tab,
    add_site_reference,
    add_consultation_panel,
    add_demo_seeder,
    plug_in,
)
from participation.uploads import add_references


def _submitted(ctx: Context) -> bool:
    return getattr(ctx.obj, "status", None) in ("evaluating", "accepted")


def _draft(ctx: Context) -> bool:
    return getattr(ctx.obj, "status", None) == "draft"


RULES = {
    # Submitted proposals are public; a draft only its author sees (the views check it).
    "proposals.view": anyone,
    # A verified resident proposes while the consultation collects ideas.
    "proposal.submit": all_of(has_role(Role.VERIFIED), not_blocked,
                              phase_open("proposal.submit")),
    "proposal.edit": all_of(is_author, _draft),
    # Others support, once each, while the phase allows.
    "proposal.support": all_of(has_role(Role.VERIFIED), _submitted,
                               lambda ctx: not is_author(ctx), phase_open("proposal.support")),
    "proposal.review": any_of(is_planner, is_admin),
}


def _answered(p: dict) -> str:
    from flask_babel import gettext as _

    if p.get("status") == "merged":
        return _("Your proposal “%(title)s” was merged into “%(into)s”.", title=p.get("title"),
                 into=p.get("into", ""))
    labels = {"evaluating": _("is being evaluated"), "accepted": _("is shortlisted for the vote"),
              "rejected": _("was not taken up")}
    return _("Your proposal “%(title)s” %(answer)s.", title=p.get("title"),
             answer=labels.get(p.get("status"), ""))


def _photo_files() -> set[str]:
    from sqlalchemy import select

    from participation.extensions import db

    from .models import ProposalPhoto

    names = set()
    for full, thumb in db.session.execute(select(ProposalPhoto.filename,
                                                 ProposalPhoto.thumbnail)):
        names.update((full, thumb))
    return names


def _proposals(ids: set[int]) -> dict:
    from flask_babel import gettext as _
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from participation.extensions import db

    from .models import Proposal
    from .views import proposal_url

    return {p.id: (_("the proposal “%(title)s”", title=p.title), proposal_url(p))
            for p in db.session.scalars(select(Proposal).where(Proposal.id.in_(ids))
                                        .options(joinedload(Proposal.consultation)))}


def init_app(app: Flask) -> None:
    from . import demo, operations
    from .views import bp

    plug_in(app, bp, RULES)
    add_community_tab(CommunityTab("proposals.index", _l("Proposals"), "proposals.view"))
    add_site_reference(SiteReference("proposals", _l("Proposals about this site"),
                                     operations.site_proposals))
    add_plan_source(PlanSource("proposal", _l("Proposals"), _l("supports"), Decimal(1),
                               operations.plan_candidates, operations.plan_load, order=20))
    add_feature("collect", "proposal.submit")
    add_feature("collect", "proposal.support")
    add_feature("deliberate", "proposal.support")
    add_consultation_panel(ConsultationPanel("proposals/_consultation_panel.html", order=10))
    add_demo_seeder(demo.seed)
    add_references("proposals", _photo_files)
    notifications.register("proposal.answered", _answered)
    add_agenda_link(AgendaLink("proposal", _l("Linked proposal"), operations.agenda_choices,
                               operations.agenda_load, operations.agenda_save))
    audit.describe({
        "proposal.submit": _l("Submitted %(object)s"),
        "proposal.review": _l("Answered %(object)s: %(status)s"),
        "proposal.merge": _l("Merged %(object)s into %(into)s"),
    }, details={"status": _l("Answer"), "into": _l("Merged into"),
                "moved": _l("Supports moved over")},
        values={"status": {"evaluating": _l("being evaluated"),
                           "accepted": _l("shortlisted for the vote"),
                           "rejected": _l("not taken up")}},
        objects={"into": "proposal"})
    audit.name_objects("proposal", _proposals, _l("a deleted proposal"))
