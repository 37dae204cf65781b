"""Consultations: a planner's consultation in a community, built from a template as a sequence
of typed phases; the active phase decides which features are open."""
from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from participation import audit, clock, notifications
from participation.extensions import db
from participation.phases import PHASE_KINDS, phase_allows
from participation.policy import (
    Context,
    Predicate,
    any_of,
    anyone,
    is_admin,
    is_planner,
)
from participation.registries import CommunitySection, add_community_section, plug_in
from participation.uploads import add_references


def _consultation(obj):
    """The consultation an object belongs to: a consultation itself, or anything with a
    `consultation` (topics, an area's proposals) or a `topic` (comments)."""
    from .models import Consultation

    if isinstance(obj, Consultation):
        return obj
    if hasattr(obj, "consultation"):
        return obj.consultation
    if hasattr(obj, "topic"):
        return obj.topic.consultation
    return None


def phase_open(feature: str) -> Predicate:
    """The consultation's phase active now opens `feature` (see participation/phases.py)."""

    def predicate(ctx: Context) -> bool:
        consultation = _consultation(ctx.obj)
        if consultation is None:
            return False
        return phase_allows(consultation.active_phase(clock.now()), feature)

    return predicate


def consultation_running(ctx: Context) -> bool:
    consultation = _consultation(ctx.obj)
    return consultation is not None and consultation.state(clock.now()) != "closed"


def closed_because(consultation, feature: str) -> str | None:
    """Why `feature` is not open in the consultation now, in words: it has not opened yet, or
    the phase that opened it has ended (and when)."""
    from participation.i18n import format_moment

    now = clock.now()
    if phase_allows(consultation.active_phase(now), feature):
        return None
    opening = [p for p in consultation.phases if feature in PHASE_KINDS[p.kind].features]
    later = [p for p in opening if p.starts_at > now]
    if later:
        return _("This opens in the “%(phase)s” phase, from %(date)s.",
                 phase=phase_label(later[0].kind), date=format_moment(later[0].starts_at))
    if opening:
        return _("This closed when the “%(phase)s” phase ended on %(date)s.",
                 phase=phase_label(opening[-1].kind),
                 date=format_moment(opening[-1].ends_at))
    return _("This consultation has no phase for it.")


RULES = {
    # Consultations, their topics and comments are public reading.
    "consultation.view": anyone,
    "consultation.manage": any_of(is_planner, is_admin),
}


def phase_label(kind: str) -> str:
    return str(PHASE_KINDS[kind].label) if kind in PHASE_KINDS else kind


def state_label(state: str) -> str:
    return {"upcoming": _("Upcoming"), "open": _("Open"), "closed": _("Closed")}[state]


def _cover_files() -> set[str]:
    from .models import Consultation

    return set(db.session.scalars(
        select(Consultation.cover).where(Consultation.cover.is_not(None))))


def _consultations(ids: set[int]) -> dict:
    from flask import url_for

    from .models import Consultation

    return {c.id: (_("the consultation “%(title)s”", title=c.title),
                   url_for("consultations.consultation", community_id=c.community_id,
                           consultation_id=c.id))
            for c in db.session.scalars(select(Consultation).where(Consultation.id.in_(ids)))}


def init_app(app: Flask) -> None:
    from .views import bp, community_consultations

    plug_in(app, bp, RULES)
    app.jinja_env.globals.update(phase_label=phase_label, state_label=state_label)
    add_community_section(CommunitySection("consultations/_community_section.html",
                                           community_consultations))
    add_references("covers", _cover_files)
    notifications.register("consultation.new", lambda p: _(
        "New consultation in your community: %(title)s", title=p.get("title")))
    notifications.register("phase.started", lambda p: _(
        "“%(title)s” has entered a new phase: %(phase)s", title=p.get("title"),
        phase=phase_label(p.get("phase", ""))))
    audit.describe({
        "consultation.create": _l("Created %(object)s"),
        "consultation.edit": _l("Edited %(object)s"),
        "consultation.phases": _l("Changed the phases of %(object)s"),
    }, details={"phases": _l("Number of phases")})
    audit.name_objects("consultation", _consultations, _l("a deleted consultation"))
