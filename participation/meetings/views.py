"""Pages of meeting records."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from participation.communities.models import Community
from participation.consultations.models import Consultation
from participation.discussions.models import Topic
from participation.errors import OperationError
from participation.extensions import db
from participation.i18n import to_shown, to_stored
from participation.policy import can, require
from participation.registries import (
    agenda_links,
)
from participation.uploads import (
    ImageRejected,
    is_uploaded,
    save_images,
    send_image,
)
from participation.web import (
    field_error,
    form_status,
    paginate,
    parse_id,
    parse_ids,
    render,
    see_other,
)

from . import operations as ops
from .forms import MeetingForm
from .models import AgendaItem, Meeting

bp = Blueprint("meetings", __name__)


def meeting_url(meeting: Meeting) -> str:
    return url_for("meetings.meeting", community_id=meeting.community_id, meeting_id=meeting.id)


@bp.get("/c/<int:community_id>/meetings")
def meetings(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("meeting.view", community)
    stmt = select(Meeting).where(Meeting.community_id == community.id)
    if not can("meeting.manage", community):
        stmt = stmt.where(Meeting.published_at.is_not(None))
    page = paginate(stmt.order_by(Meeting.held_at.desc(), Meeting.id.desc()))
    return render("meetings/meetings.html", community=community, page=page)


def _meeting(community: Community, meeting_id: int) -> Meeting:
    meeting = db.session.scalar(
        select(Meeting).where(Meeting.id == meeting_id)
        .options(selectinload(Meeting.items).joinedload(AgendaItem.topic),
                 selectinload(Meeting.photos)))
    if meeting is None or meeting.community_id != community.id:
        abort(404)
    if meeting.published_at is None and not can("meeting.manage", community):
        abort(404)
    return meeting


MAX_MEETING_PHOTOS = 6


@bp.get("/c/<int:community_id>/meetings/<int:meeting_id>/photos/<int:photo_id>")
def meeting_photo(community_id: int, meeting_id: int, photo_id: int):
    community = db.get_or_404(Community, community_id)
    require("meeting.view", community)
    meeting = _meeting(community, meeting_id)
    photo = next((p for p in meeting.photos if p.id == photo_id), None)
    if photo is None:
        abort(404)
    return send_image("meetings", photo.filename)


@bp.get("/c/<int:community_id>/meetings/<int:meeting_id>")
def meeting(community_id: int, meeting_id: int):
    community = db.get_or_404(Community, community_id)
    require("meeting.view", community)
    meeting = _meeting(community, meeting_id)
    links = [(source, source.load(meeting.items)) for source in agenda_links.values()]
    return render("meetings/meeting.html", community=community, meeting=meeting,
                  links=links)


@bp.route("/c/<int:community_id>/meetings/new", methods=["GET", "POST"],
          defaults={"meeting_id": None})
@bp.route("/c/<int:community_id>/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
def edit_meeting(community_id: int, meeting_id: int | None):
    community = db.get_or_404(Community, community_id)
    require("meeting.manage", community)
    meeting = _meeting(community, meeting_id) if meeting_id else None
    if meeting is not None and request.method == "GET":
        form = MeetingForm(data={
            "title": meeting.title, "held_at": to_shown(meeting.held_at), "place": meeting.place,
            "attendance": meeting.attendance, "attendee_names": meeting.attendee_names,
            "minutes": meeting.minutes, "publish": meeting.published_at is not None,
            "items": [{"title": i.title, "topic_id": str(i.topic_id or ""),
                       "decision": i.decision} for i in meeting.items] + [{}],
        })
    else:
        form = MeetingForm()
    topics = db.session.execute(
        select(Topic.id, Topic.title).join(Consultation)
        .where(Consultation.community_id == community.id, Topic.hidden_at.is_(None))
        .order_by(Topic.created_at.desc()).limit(200)).all()
    linked = {item.topic.id: item.topic.title for item in (meeting.items if meeting else [])
              if item.topic is not None}
    # Topics already linked stay choosable, even when older than the latest 200 or hidden.
    topics = list(topics) + [(tid, title) for tid, title in linked.items()
                             if tid not in {t for t, _title in topics}]
    choices = [SelectChoice("", _("No linked topic"))] + [
        SelectChoice(str(tid), title) for tid, title in topics]
    for item in form.items:
        item.topic_id.choices = choices
    # What areas let agenda items link to (proposals, ...), with each row's current choice.
    current = {key: source.load(meeting.items) for key, source in agenda_links.items()} \
        if meeting else {}
    links = []
    for key, source in agenda_links.items():
        chosen = {}
        for row, item in enumerate(meeting.items if meeting else []):
            if item.id in current[key]:
                chosen[row] = current[key][item.id][0]
        for row in range(len(form.items)):
            picked = request.form.get(f"items-{row}-{key}")
            if picked is not None:
                chosen[row] = parse_id(picked)
        links.append((source, source.choices(community), chosen))
    if form.validate_on_submit():
        titled = [row for row, i in enumerate(form.items) if i.title.data]
        items = [(i.title.data, parse_id(i.topic_id.data), i.decision.data or "")
                 for i in form.items if i.title.data]
        uploads = [f for f in form.photos.data or [] if is_uploaded(f)]
        remove = parse_ids(request.form.getlist("remove_photo"))
        kept = len([p for p in meeting.photos if p.id not in remove]) if meeting else 0
        try:
            if kept + len(uploads) > MAX_MEETING_PHOTOS:
                raise OperationError(_("A meeting record holds at most %(n)d photos.",
                                           n=MAX_MEETING_PHOTOS))
            photos = save_images(uploads, "meetings")
        except (OperationError, ImageRejected) as error:
            form.photos.errors = [str(error)]
            return render("meetings/meeting_form.html", community=community,
                          meeting=meeting, form=form, links=links, status=422)
        try:
            saved = ops.save_meeting(
                current_user, community, meeting, title=form.title.data,
                held_at=to_stored(form.held_at.data), place=form.place.data,
                attendance=form.attendance.data, attendee_names=form.attendee_names.data,
                minutes=form.minutes.data or "", items=items, publish=form.publish.data,
                photos=photos, remove_photos=remove, url_for_meeting=meeting_url)
            for source, _choices, chosen in links:
                for row, item in zip(titled, saved.items, strict=True):
                    source.save(item, chosen.get(row))
        except OperationError as error:
            field_error(form.title, error)
        else:
            flash(_("The meeting record is saved."), "success")
            return see_other(meeting_url(saved))
    return render("meetings/meeting_form.html", community=community, meeting=meeting,
                  form=form, links=links, status=form_status(form))
