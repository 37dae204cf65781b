"""State changes of meeting records.

Each function validates, writes, flushes and records an audit event; the request's single commit
happens after the view. They raise `OperationError` with a translated message when the change
cannot happen; nothing has been written when they do.
"""
from __future__ import annotations

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from participation.accounts.models import User
from participation.audit.operations import record
from participation.clock import utcnow
from participation.communities.models import Community
from participation.consultations.models import Consultation
from participation.discussions.models import Topic
from participation.errors import OperationError
from participation.extensions import db
from participation.notifications.operations import notify_members
from participation.web import parse_ids

from .models import AgendaItem, Meeting, MeetingPhoto

log = logging.getLogger(__name__)


def save_meeting(planner: User, community: Community, meeting: Meeting | None, *, title: str,
                 held_at: datetime, place: str, attendance: int, attendee_names: str | None,
                 minutes: str, items: list[tuple[str, int | None, str]], publish: bool,
                 url_for_meeting, photos: list[str] = (),
                 remove_photos: list[int] = ()) -> Meeting:
    """Create or update a meeting record with its agenda items (title, topic id, decision)."""
    topic_ids = {tid for _t, tid, _d in items if tid}
    if topic_ids:
        known = set(db.session.scalars(
            select(Topic.id).join(Consultation).where(
                Topic.id.in_(topic_ids), Consultation.community_id == community.id)))
        if topic_ids - known:
            raise OperationError(_("An agenda item links to a topic of another community."))
    if meeting is None:
        meeting = Meeting(community_id=community.id, created_by_id=planner.id)
        db.session.add(meeting)
    meeting.title, meeting.held_at, meeting.place = title.strip(), held_at, place.strip()
    meeting.attendance, meeting.attendee_names = attendance, attendee_names or None
    meeting.minutes = minutes
    meeting.items.clear()
    db.session.flush()
    for position, (item_title, topic_id, decision) in enumerate(items, start=1):
        meeting.items.append(AgendaItem(position=position, title=item_title.strip(),
                                        topic_id=topic_id, decision=decision))
    for photo in [p for p in meeting.photos if p.id in set(remove_photos)]:
        meeting.photos.remove(photo)
    meeting.photos.extend(MeetingPhoto(filename=name) for name in photos)
    first_publication = publish and meeting.published_at is None
    if first_publication:
        meeting.published_at = utcnow()
    db.session.flush()
    record("meeting.save", actor=planner, community=community, target=f"meeting:{meeting.id}",
           title=meeting.title)
    if first_publication:
        notify_members(community, "meeting.published", url_for_meeting(meeting),
                       exclude=planner.id, title=meeting.title)
    return meeting


def decision_items(community: Community, refs: list[str] | None = None,
                   query: str = "", limit: int | None = None) -> dict:
    """The plan's "meeting decision" source: agenda items of the community's published meeting
    records that carry a decision, newest meeting first; `ref` is the agenda item's id."""
    from decimal import Decimal

    from flask import url_for

    from participation.registries import SourceItem

    statement = (select(AgendaItem, Meeting).join(Meeting)
                 .where(Meeting.community_id == community.id, Meeting.published_at.is_not(None),
                        AgendaItem.decision != ""))
    if refs is not None:
        statement = statement.where(AgendaItem.id.in_(parse_ids(refs)))
    if query.strip():
        statement = statement.where(AgendaItem.title.icontains(query.strip(), autoescape=True))
    rows = db.session.execute(statement.order_by(Meeting.held_at.desc(), AgendaItem.position)
                              .limit(limit))
    return {str(item.id): SourceItem(
        str(item.id), item.title,
        Decimal(1), _("Decided at “%(meeting)s”: %(decision)s", meeting=meeting.title,
                      decision=item.decision[:200]),
        url_for("meetings.meeting", community_id=community.id, meeting_id=meeting.id))
        for item, meeting in rows}
