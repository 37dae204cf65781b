"""Proposals: the proposals area of Linli. `init_app` plugs it into the core."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from participation import clock, notifications, register_area
from participation.areas import (
    AgendaLink,
    CommunityTab,
    add_agenda_link,
    add_community_tab,
    add_consultation_panel,
    add_demo_seeder,
)
from participation.models import Role
from participation.phases import add_feature, add_phase_guard
from participation.uploads import add_references
from participation.policy import (
    Context,
    all_of,
    any_of,
    has_role,
    is_admin,
    is_author,
    is_committee,
    is_member,
    is_planner,
    not_blocked,
    phase_open,
)


def _submitted(ctx: Context) -> bool:
    return getattr(ctx.obj, "status", None) in ("evaluating", "accepted")


def _draft(ctx: Context) -> bool:
    return getattr(ctx.obj, "status", None) == "draft"


def _ballot_open(ctx: Context) -> bool:
    phase = getattr(ctx.obj, "phase", None)
    return phase is not None and phase.starts_at <= clock.now() < phase.ends_at


def _paper_open(ctx: Context) -> bool:
    """Paper ballots are entered while the vote runs and for a few days after it closes."""
    from .operations import paper_until

    phase = getattr(ctx.obj, "phase", None)
    return phase is not None and phase.starts_at <= clock.now() < paper_until(ctx.obj)


def _ballot_ended(ctx: Context) -> bool:
    from .operations import results_from

    return getattr(ctx.obj, "phase", None) is not None and clock.now() >= results_from(ctx.obj)


def _results_live(ctx: Context) -> bool:
    """The planner chose to show an open ballot's results while it runs. A secret ballot never
    does: results that change as people vote would tell who voted what."""
    phase = getattr(ctx.obj, "phase", None)
    return (phase is not None and clock.now() >= phase.starts_at
            and bool(getattr(ctx.obj, "results_live", False))
            and getattr(ctx.obj, "secrecy", "secret") == "open")


def _open_ballot(ctx: Context) -> bool:
    return getattr(ctx.obj, "secrecy", "secret") == "open"


RULES = {
    "proposals.view": any_of(is_member, is_admin),
    # A verified resident proposes while the consultation collects ideas.
    "proposal.submit": all_of(has_role(Role.VERIFIED), not_blocked,
                              phase_open("proposal.submit")),
    "proposal.edit": all_of(is_author, _draft),
    # Others support, once each, while the phase allows.
    "proposal.support": all_of(has_role(Role.VERIFIED), _submitted,
                               lambda ctx: not is_author(ctx), phase_open("proposal.support")),
    "proposal.review": any_of(is_planner, is_admin),
    # Ballots: the planner sets the rules; verified residents vote while the vote phase runs;
    # the committee enters paper ballots meanwhile; results follow the planner's choice.
    "ballot.manage": any_of(is_planner, is_admin),
    "ballot.vote": all_of(has_role(Role.VERIFIED), _ballot_open),
    "ballot.paper": all_of(any_of(is_committee, is_admin), _paper_open),
    "ballot.paper_view": any_of(is_committee, is_admin),
    # Results once voting ends; before, staff may watch an open ballot, and members too when
    # the planner shows results live. Nobody watches a secret ballot being filled.
    "ballot.results": any_of(
        all_of(any_of(is_member, is_admin), any_of(_ballot_ended, _results_live)),
        all_of(any_of(is_planner, is_committee, is_admin), _open_ballot)),
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


def init_app(app: Flask) -> None:
    from . import ballot_views  # noqa: F401  (its pages join the area's blueprint)
    from .views import bp

    register_area(app, bp, RULES)
    add_community_tab(CommunityTab("proposals.index", _l("Proposals"), "proposals.view"))
    add_feature("collect", "proposal.submit")
    add_feature("collect", "proposal.support")
    add_feature("deliberate", "proposal.support")
    add_consultation_panel("proposals/_consultation_panel.html")
    from . import demo

    add_demo_seeder(demo.seed)
    add_references("proposals", _photo_files)
    notifications.register("proposal.answered", _answered)
    from . import operations

    add_phase_guard(operations.ballot_phase_guard)

    add_agenda_link(AgendaLink("proposal", _l("Linked proposal"), operations.agenda_choices,
                               operations.agenda_load, operations.agenda_save))
