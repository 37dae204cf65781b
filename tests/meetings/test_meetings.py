"""Meeting records: minutes, agenda items, photos, publishing."""
from __future__ import annotations

import re
from datetime import timedelta

from tests.conftest import (
    START,
    client_for,
    image_bytes,
    open_topic,
    post,
)


def test_meeting_is_recorded_and_published(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin, planner = client_for(app, people["lin"]), client_for(app, people["planner"])
    topic_id = open_topic(lin, community, consultation_id)
    url = f"/c/{community.id}/meetings/new"
    form = {"title": "第一次居民议事会", "held_at": "2027-03-15T19:00", "place": "社区活动室",
            "attendance": "23", "attendee_names": "陈主任、黄委员",
            "minutes": "会议**通过**了长椅方案", "items-0-title": "长椅数量",
            "items-0-topic_id": str(topic_id), "items-0-decision": "增加六张"}
    response = post(planner, url, form, page=url)
    assert response.status_code == 303
    meeting_page = response.headers["Location"]
    assert lin.get(meeting_page).status_code == 404  # not published yet
    edit = meeting_page + "/edit"
    post(planner, edit, {**form, "publish": "y"}, page=edit)
    html = lin.get(meeting_page).get_data(as_text=True)
    assert "<strong>通过</strong>" in html and "增加六张" in html and "座椅太少" in html
    assert "第一次居民议事会" in lin.get("/notifications").get_data(as_text=True)


def test_meeting_photos_are_limited_and_shown(app, place, at):
    from io import BytesIO

    community, people, _ = place
    at(START)
    planner = client_for(app, people["planner"])
    url = f"/c/{community.id}/meetings/new"
    form = {"title": "议事会", "held_at": "2027-03-15T19:00", "place": "活动室",
            "attendance": "9", "publish": "y"}
    too_many = post(planner, url, {**form, "photos": [
        (BytesIO(image_bytes()), f"{n}.png") for n in range(7)]}, page=url,
        content_type="multipart/form-data")
    assert "6" in too_many.get_data(as_text=True) and too_many.status_code == 422
    response = post(planner, url, {**form, "photos": [
        (BytesIO(image_bytes()), f"{n}.png") for n in range(2)]}, page=url,
        content_type="multipart/form-data")
    assert response.status_code == 303
    html = client_for(app, people["lin"]).get(response.headers["Location"]).get_data(as_text=True)
    assert html.count("/photos/") == 2


def test_meeting_photos_can_be_removed_and_untitled_items_are_explained(app, place, at):
    from io import BytesIO

    community, people, _ = place
    at(START)
    planner = client_for(app, people["planner"])
    url = f"/c/{community.id}/meetings/new"
    form = {"title": "议事会", "held_at": "2027-03-15T19:00", "place": "活动室",
            "attendance": "9"}
    untitled = post(planner, url, {**form, "items-0-decision": "通过"}, page=url)
    assert untitled.status_code == 422 and "标题" in untitled.get_data(as_text=True)
    saved = post(planner, url, {**form, "photos": [(BytesIO(image_bytes()), "a.png"),
                                                   (BytesIO(image_bytes()), "b.png")]},
                 page=url, content_type="multipart/form-data")
    edit = saved.headers["Location"] + "/edit"
    first = re.search(r'name="remove_photo" value="(\d+)"',
                      planner.get(edit).get_data(as_text=True)).group(1)
    post(planner, edit, {**form, "remove_photo": first}, page=edit)
    assert planner.get(saved.headers["Location"]).get_data(as_text=True).count("/photos/") == 1
