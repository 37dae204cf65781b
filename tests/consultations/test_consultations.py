"""Consultations: templates, phases and what each opens, covers, phase announcements."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from participation.accounts.models import User
from participation.consultations.models import Consultation, Phase
from participation.extensions import db
from participation.notifications.models import Notification
from participation.phases import PHASE_KINDS, TEMPLATES
from tests.conftest import (
    START,
    client_for,
    image_bytes,
    phases_form,
    post,
)

KINDS_THAT_COMMENT = {k for k, v in PHASE_KINDS.items() if "discussion.comment" in v.features}


@pytest.mark.parametrize("moment, phase", [
    (START - timedelta(hours=1), None),
    (START + timedelta(days=1), "collect"),
    (START + timedelta(days=22), "deliberate"),
    (START + timedelta(days=36), "vote"),
    (START + timedelta(days=43), "results"),
    (START + timedelta(days=60), None),
])
def test_what_each_role_may_do_follows_the_active_phase(app, place, at, moment, phase):
    community, people, consultation_id = place
    at(moment)
    from participation.policy import can

    with app.test_request_context():
        c = db.session.get(Consultation, consultation_id)
        assert (c.active_phase(moment).kind if c.active_phase(moment) else None) == phase
        for name in ("lin", "planner"):
            user = db.session.get(User, people[name].id)
            may_comment = can("discussion.comment", c.community, c, user=user)
            may_open = can("discussion.open_topic", c.community, c, user=user)
            assert may_comment == (phase in KINDS_THAT_COMMENT), (name, phase)
            if name == "lin":
                assert may_open == (phase in {"collect", "deliberate"})
            else:  # the planner may open topics while the consultation runs
                assert may_open == (moment < START + timedelta(days=56))
        moderator = db.session.get(User, people["mod"].id)
        assert can("discussion.comment", c.community, c, user=moderator) == (
            phase in KINDS_THAT_COMMENT)
        assert can("consultation.manage", c.community, c, user=moderator) is False
        resident = db.session.get(User, people["lin"].id)
        assert can("consultation.manage", c.community, c, user=resident) is False
        admin = User(display_name="管理员", phone="13000000009", password_hash="x", is_admin=True)
        # The platform admin oversees but does not take part in a community's discussion.
        assert can("discussion.comment", c.community, c, user=admin) is False
        assert can("consultation.manage", c.community, c, user=admin) is True


def test_templates_are_data_with_known_phase_kinds():
    assert {"micro_space", "needs_census", "children_design", "deliberation_meeting"} <= set(
        TEMPLATES)
    assert [p.kind for p in TEMPLATES["micro_space"].phases] == [
        "collect", "deliberate", "vote", "results"]


def test_planner_creates_consultation_from_template_and_members_are_told(app, place, at):
    community, people, _ = place
    at(START)
    planner = client_for(app, people["planner"])
    url = f"/c/{community.id}/consultations/new"
    response = post(planner, url, {"template": "micro_space", "title": "5号楼转角",
                                   "description": "<script>alert(1)</script>**角落**",
                                   "sites": "5号楼转角", "starts_on": "2027-03-01"}, page=url)
    assert response.status_code == 303
    with app.app_context():
        c = db.session.scalar(select(Consultation).where(Consultation.title == "5号楼转角"))
        assert [p.kind for p in c.phases] == ["collect", "deliberate", "vote", "results"]
        assert all(a.ends_at == b.starts_at for a, b in zip(c.phases, c.phases[1:], strict=False))
        told = db.session.scalars(select(Notification.user_id).where(
            Notification.kind == "consultation.new")).all()
        assert sorted(told) == sorted([people["lin"].id, people["wang"].id, people["mod"].id])
        cid = c.id
    resident = client_for(app, people["lin"])
    html = resident.get(f"/c/{community.id}/consultations/{cid}").get_data(as_text=True)
    assert "<strong>角落</strong>" in html and "<script>alert" not in html
    assert 'aria-current="step"' in html  # the active phase is highlighted
    assert "5号楼转角" in resident.get("/notifications").get_data(as_text=True)


def test_overlapping_phases_are_refused(app, place, at):
    community, people, consultation_id = place
    at(START)
    planner = client_for(app, people["planner"])
    url = f"/c/{community.id}/consultations/{consultation_id}/phases"
    response = post(planner, url, {
        "phases-0-kind": "collect", "phases-0-starts_at": "2027-03-01T09:00",
        "phases-0-ends_at": "2027-03-10T18:00",
        "phases-1-kind": "vote", "phases-1-starts_at": "2027-03-09T09:00",
        "phases-1-ends_at": "2027-03-20T18:00"}, page=url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "重叠" in html
    assert 'value="2027-03-09T09:00"' in html  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Phase).where(
            Phase.consultation_id == consultation_id)) == 4


def test_cover_picture_is_reencoded_and_served_to_members(app, place, at):
    from io import BytesIO

    from PIL import Image

    community, people, consultation_id = place
    at(START)
    planner = client_for(app, people["planner"])
    url = f"/c/{community.id}/consultations/{consultation_id}/edit"
    form = {"title": "口袋公园改造", "description": "", "sites": ""}
    bad = post(planner, url, {**form, "cover": (BytesIO(b"<script>not an image"), "x.png")},
               page=url, content_type="multipart/form-data")
    assert "不是" in bad.get_data(as_text=True) or "无法读取" in bad.get_data(as_text=True)
    good = post(planner, url, {**form, "cover": (BytesIO(image_bytes("JPEG", exif=True)),
                                                 "photo.jpg")},
                page=url, content_type="multipart/form-data")
    assert good.status_code == 303
    cover = client_for(app, people["lin"]).get(
        f"/c/{community.id}/consultations/{consultation_id}/cover")
    assert cover.status_code == 200 and cover.mimetype == "image/jpeg"
    stored = Image.open(BytesIO(cover.get_data()))
    assert stored.format == "JPEG" and stored.size == (64, 48)
    assert b"GPS" not in cover.get_data()  # metadata is not passed on
    cover.close()
    reader = app.test_client()  # a published consultation's cover is public, like its page
    response = reader.get(f"/c/{community.id}/consultations/{consultation_id}/cover")
    assert response.status_code == 200
    response.close()


def test_phase_start_is_announced_once_by_the_cron_command(app, place, at, runner):
    community, people, consultation_id = place
    at(START + timedelta(hours=2))
    first = runner.invoke(args=["notify-phases"])
    assert first.exit_code == 0 and "1" in first.output
    again = runner.invoke(args=["notify-phases"])
    assert "0" in again.output
    with app.app_context():
        told = db.session.scalars(select(Notification.user_id).where(
            Notification.kind == "phase.started")).all()
    assert sorted(told) == sorted(p.id for p in people.values())
    html = client_for(app, people["lin"]).get("/notifications").get_data(as_text=True)
    assert "征集意见" in html


def test_phases_save_with_the_spare_row_empty_and_can_be_removed(app, place, at):
    community, people, consultation_id = place
    at(START)
    planner = client_for(app, people["planner"])
    url = f"/c/{community.id}/consultations/{consultation_id}/phases"
    form = phases_form(planner.get(url).get_data(as_text=True))  # the spare row stays empty
    assert form["phases-3-kind"] == "results" and "phases-4-kind" in form
    form["phases-3-remove"] = "y"  # drop the results notice
    response = post(planner, url, form, page=url)
    assert response.status_code == 303, response.get_data(as_text=True)[-1500:]
    with app.app_context():
        kinds_now = db.session.scalars(select(Phase.kind).where(
            Phase.consultation_id == consultation_id).order_by(Phase.starts_at)).all()
    assert kinds_now == ["collect", "deliberate", "vote"]


@pytest.mark.parametrize("emptied", ["ends_at", "starts_at"])
def test_a_phase_with_one_date_left_empty_is_explained_not_a_500(app, place, at, emptied):
    community, people, consultation_id = place
    at(START)
    planner = client_for(app, people["planner"])
    url = f"/c/{community.id}/consultations/{consultation_id}/phases"
    form = phases_form(planner.get(url).get_data(as_text=True))
    form[f"phases-1-{emptied}"] = ""
    response = post(planner, url, form, page=url)
    assert response.status_code == 200  # the form again, with the error at the row
    page = response.get_data(as_text=True)
    assert f'id="phases-1-{emptied}-error"' in page
    # What was typed stays: the other rows keep their dates.
    assert form["phases-0-starts_at"] in page
