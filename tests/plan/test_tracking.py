"""The adopted projects are carried out and tracked: dated updates with status, progress and
photos, told to the members who follow the project, and shown on the plan's public page to
anyone, signed in or not. The notice for the community's board carries a QR code."""
from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO

from PIL import Image
from sqlalchemy import select

from participation.clock import utcnow
from participation.extensions import db
from participation.notifications.models import Notification
from participation.plan.models import Project, ProjectUpdate, ProjectUpdatePhoto
from tests.conftest import client_for, image_bytes, post
from tests.plan.test_decision import Decided, text


def _days_ago(days: int) -> str:
    return (utcnow() - timedelta(days=days)).date().isoformat()


def _update(plan, project_id, **fields):
    url = f"{plan.url}/projects/{project_id}/updates/new"
    form = {"on": _days_ago(30), "status": "construction", "progress": "40",
            "text": "坡道基础已浇筑", "cancel_reason": ""}
    form.update(fields)
    return post(plan.committee, url, form, page=f"{plan.url}/projects/{plan.ids[0]}",
                content_type="multipart/form-data")


def test_an_adopted_project_is_tracked_and_its_followers_are_told(app, factory):
    plan = Decided(app, factory)
    community = f"/c/{plan.community.id}"
    anonymous = app.test_client()
    assert "尚未决定" in text(anonymous.get(f"{community}/our-plan").get_data(as_text=True))
    assert plan.decide().status_code == 303  # adopts the ramp, rejects and defers the others
    ramp = f"{plan.url}/projects/{plan.ids[0]}"
    resident = client_for(app, plan.resident)
    assert post(resident, f"{ramp}/follow", {"follow": "1"}, page=ramp).status_code == 303
    assert "取消关注" in resident.get(ramp).get_data(as_text=True)
    # Cancelling needs a reason; the form keeps what was typed.
    refused = _update(plan, plan.ids[0], status="cancelled", text="资金未落实")
    assert refused.status_code == 422
    assert "说明项目为什么取消" in refused.get_data(as_text=True)
    assert "资金未落实" in refused.get_data(as_text=True)
    done = _update(plan, plan.ids[0], photos=[(BytesIO(image_bytes("JPEG", exif=True)),
                                               "site.jpg")])
    assert done.status_code == 303 and done.headers["Location"].endswith("#progress")
    assert _update(plan, plan.ids[0]).status_code == 303  # sent twice: one update
    page = text(anonymous.get(ramp).get_data(as_text=True))
    assert "施工中" in page and "坡道基础已浇筑" in page and "40%" in page
    assert page.count("坡道基础已浇筑") == 1
    with app.app_context():
        photo = db.session.scalar(select(ProjectUpdatePhoto))
        told = db.session.scalars(select(Notification).where(
            Notification.user_id == plan.resident.id, Notification.kind == "plan.update")).all()
        assert db.session.get(Project, plan.ids[0]).progress == 40
    assert len(told) == 1 and told[0].url.endswith(f"/projects/{plan.ids[0]}#progress")
    served = anonymous.get(f"{ramp}/updates/{photo.update_id}/photos/{photo.id}")
    assert served.status_code == 200
    assert not Image.open(BytesIO(served.data)).getexif()  # re-encoded, metadata gone
    served.close()
    other = f"{plan.url}/projects/{plan.ids[1]}"
    assert anonymous.get(f"{other}/updates/{photo.update_id}/photos/{photo.id}"
                         ).status_code == 404
    # The public page, for anyone: the adopted project and its progress, the downloads.
    public = anonymous.get(f"{community}/our-plan").get_data(as_text=True)
    assert "东门无障碍坡道" in public and "3号楼后长椅" not in public  # only what was adopted
    assert 'value="40"' in public and "平均完成 40%" in text(public)
    assert f"{plan.url}/versions/1/list.xlsx" in public
    # A rejected project is not carried out.
    rejected = _update(plan, plan.ids[1])
    assert rejected.status_code == 303 and rejected.headers["Location"].endswith(other)
    # Done means 100%; the follower who stops is not told again.
    assert post(resident, f"{ramp}/follow", {"follow": "0"}, page=ramp).status_code == 303
    assert _update(plan, plan.ids[0], on=_days_ago(2), status="done", progress="80",
                   text="已完工验收").status_code == 303
    with app.app_context():
        assert db.session.get(Project, plan.ids[0]).progress == 100
        assert db.session.scalar(select(db.func.count()).select_from(Notification).where(
            Notification.user_id == plan.resident.id,
            Notification.kind == "plan.update")) == 1
    assert "已完成" in text(anonymous.get(f"{community}/our-plan").get_data(as_text=True))


def test_only_the_committee_and_planners_report_and_only_members_follow(app, factory):
    plan = Decided(app, factory)
    assert plan.decide().status_code == 303
    ramp = f"{plan.url}/projects/{plan.ids[0]}"
    resident = client_for(app, plan.resident)
    assert resident.get(f"{ramp}/updates/new").status_code == 403
    assert "报告进展" not in resident.get(ramp).get_data(as_text=True)
    outsider = client_for(app, plan.outsider)
    assert post(outsider, f"{ramp}/follow", {"follow": "1"}, page=ramp).status_code == 403
    assert app.test_client().post(f"{ramp}/follow").status_code in (302, 400)


def test_the_board_notice_has_the_list_the_period_and_a_qr_code(app, factory):
    plan = Decided(app, factory)
    board = f"{plan.url}/notice/board"
    assert plan.decide().status_code == 303
    assert app.test_client().get(board).status_code == 404  # not published yet
    assert post(plan.committee, f"{plan.url}/publish", page=plan.url).status_code == 303
    html = app.test_client().get(board).get_data(as_text=True)
    assert "<svg" in html and "东门无障碍坡道" in html and "如何提出异议" in html
    assert f"http://localhost{plan.url}/notice" in html  # the address the code points to
    assert "只有本机能打开" in html  # and a warning before printing a code only this host opens
    app.config["BASE_URL"] = "https://linli.example.org"
    html = app.test_client().get(board, headers={"Host": "forged.example"}).get_data(as_text=True)
    app.config.pop("BASE_URL")
    assert f"https://linli.example.org{plan.url}/notice" in html and "forged.example" not in html
    assert "只有本机能打开" not in html
    assert re.search(r'<path[^>]+d="M', html)  # the code's modules are drawn


def test_an_update_cannot_be_dated_ahead_is_sent_once_and_keeps_its_reason(app, factory,
                                                                          tmp_path,
                                                                          monkeypatch):
    from participation.communities.models import Membership

    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path))  # this test's files only

    plan = Decided(app, factory)
    assert plan.decide().status_code == 303
    ramp = f"{plan.url}/projects/{plan.ids[0]}"
    resident = client_for(app, plan.resident)
    assert post(resident, f"{ramp}/follow", {"follow": "1"}, page=ramp).status_code == 303
    # A typo in the year would freeze the project's state: refused, and what was typed stays.
    ahead = _update(plan, plan.ids[0], on=(utcnow() + timedelta(days=400)).date().isoformat())
    assert ahead.status_code == 422
    assert "日期不能晚于今天" in ahead.get_data(as_text=True)
    assert "坡道基础已浇筑" in ahead.get_data(as_text=True)
    # A double click with photos attached is one update, told once.
    for _ in range(2):
        sent = _update(plan, plan.ids[0], on=_days_ago(10), photos=[
            (BytesIO(image_bytes("JPEG")), "site.jpg")])
        assert sent.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ProjectUpdate)) == 1
        assert len(list((tmp_path / "progress").glob("*.jpg"))) == 1  # no copy left behind
        assert db.session.scalar(select(db.func.count()).select_from(Notification).where(
            Notification.kind == "plan.update")) == 1
    # A cancellation reported late, dated before the newest update: the project's state stays
    # with the newest, and the history keeps the cancellation's reason.
    assert _update(plan, plan.ids[0], on=_days_ago(20), status="cancelled", progress="0",
                   text="曾暂停", cancel_reason="资金一度未落实").status_code == 303
    html = app.test_client().get(ramp).get_data(as_text=True)
    assert re.search(r'our-plan" aria-current="true">', html)  # the nav's Plan tab is current
    page = text(html)
    assert "施工中" in page and "资金一度未落实" in page and "曾暂停" in page
    public = text(app.test_client().get(f"/c/{plan.community.id}/our-plan")
                  .get_data(as_text=True))
    shown = (utcnow() - timedelta(days=10))
    assert f"{shown.year}年{shown.month}月{shown.day}日" in public  # the update's own date
    # Who left the community since is not told of updates any more.
    with app.app_context():
        membership = db.session.scalar(select(Membership).where(
            Membership.user_id == plan.resident.id,
            Membership.community_id == plan.community.id))
        membership.revoked_at = utcnow()
        db.session.commit()
    assert _update(plan, plan.ids[0], on=_days_ago(1), text="栏杆已装").status_code == 303
    with app.app_context():  # told of the first update and of the late cancellation only
        assert db.session.scalar(select(db.func.count()).select_from(Notification).where(
            Notification.kind == "plan.update")) == 2
