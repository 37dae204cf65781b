"""Meetings: records of offline deliberation meetings (议事会) with minutes, attendance, photos
and agenda items that link to topics and, through a registry, to what areas offer."""
from __future__ import annotations

from decimal import Decimal

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from participation import audit, notifications
from participation.extensions import db
from participation.policy import any_of, anyone, is_admin, is_committee, is_planner
from participation.registries import PlanSource, add_plan_source, plug_in
from participation.uploads import add_references

RULES = {
    # Published records are public; drafts only their editors see (the views filter them).
    "meeting.view": anyone,
    # The residents' committee convenes deliberation meetings; the planner often runs them.
    "meeting.manage": any_of(is_planner, is_committee, is_admin),
}


def _photo_files() -> set[str]:
    from .models import MeetingPhoto

    return set(db.session.scalars(select(MeetingPhoto.filename)))


def _meetings(ids: set[int]) -> dict:
    from flask import url_for

    from .models import Meeting

    return {m.id: (_("the meeting “%(title)s”", title=m.title),
                   url_for("meetings.meeting", community_id=m.community_id, meeting_id=m.id))
            for m in db.session.scalars(select(Meeting).where(Meeting.id.in_(ids)))}


def init_app(app: Flask) -> None:
    from . import operations
    from .views import bp

    plug_in(app, bp, RULES)
    add_references("meetings", _photo_files)
    notifications.register("meeting.published", lambda p: _(
        "The record of the meeting “%(title)s” is published.", title=p.get("title")))
    add_plan_source(PlanSource(
        "meeting", _l("Meeting decisions"), _l("decisions"), Decimal(5),
        lambda community, query: list(operations.decision_items(community, None, query,
                                                                limit=20).values()),
        operations.decision_items, order=40))
    audit.describe({"meeting.save": _l("Saved the record of %(object)s")})
    audit.name_objects("meeting", _meetings, _l("a deleted meeting"))
