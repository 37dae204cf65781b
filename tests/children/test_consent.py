"""Guardians consent to the children's information notice before anything about a child is
kept; children are a nickname and an age band; a new notice asks again; withdrawing deletes
the children with everything the areas keep about them, and the audit log says only that it
happened."""
from __future__ import annotations

import json

from sqlalchemy import select

from participation.audit.models import AuditEvent
from participation.children import operations as ops
from participation.children.models import ChildProfile, GuardianConsent
from participation.communities.models import Community
from participation.errors import OperationError
from participation.extensions import db
from participation.policy import Role
from participation.registries import ChildData, child_data
from tests.conftest import client_for, post
from tests.plan.test_decision import text


def _children(app, user) -> list[tuple[str, str]]:
    with app.app_context():
        return [(c.nickname, c.age_band) for c in db.session.scalars(
            select(ChildProfile).where(ChildProfile.guardian_id == user.id)
            .order_by(ChildProfile.id))]


def test_a_guardian_reads_the_notice_consents_and_adds_a_child_once(app, factory):
    community = factory.community()
    guardian = factory.user(community, Role.VERIFIED)
    base = f"/c/{community.id}/children"
    notice = text(app.test_client().get(f"{base}/notice").get_data(as_text=True))
    assert "儿童个人信息保护告知书（第 1 版）" in notice and "如果您不同意" in notice
    browser = client_for(app, guardian)
    # No consent yet: adding a child leads to the notice first.
    sent = browser.get(f"{base}/new")
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"{base}/consent")
    unanswered = post(browser, f"{base}/consent", {}, page=f"{base}/consent")
    assert unanswered.status_code == 422 and "请选择是否同意" in unanswered.get_data(as_text=True)
    agreed = post(browser, f"{base}/consent", {"answer": "agree"}, page=f"{base}/consent")
    assert agreed.status_code == 303 and agreed.headers["Location"].endswith(f"{base}/new")
    # A double click adds one child; the same nickname with another age is refused calmly.
    for _ in range(2):
        added = post(browser, f"{base}/new", {"nickname": " 小 树 ", "age_band": "9-11"},
                     page=f"{base}/new")
        assert added.status_code == 303
    again = post(browser, f"{base}/new", {"nickname": "小 树", "age_band": "6-8"},
                 page=f"{base}/new")
    assert again.status_code == 422 and "换一个昵称" in again.get_data(as_text=True)
    assert 'value="小 树"' in again.get_data(as_text=True)  # what was typed stays
    phone = post(browser, f"{base}/new", {"nickname": "13900001111", "age_band": "6-8"},
                 page=f"{base}/new")
    assert phone.status_code == 422 and "长串数字" in phone.get_data(as_text=True)
    assert _children(app, guardian) == [("小 树", "9-11")]
    page = text(browser.get(base).get_data(as_text=True))
    assert "小 树 · 9-11 岁" in page and "第 1 版" in page
    with app.app_context():
        consent = db.session.scalar(select(GuardianConsent))
        assert (consent.notice_version, consent.agreed) == (1, True) and consent.at
        # The audit log says what happened, never who the child is.
        logged = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action.like("children.%"))).all()
        assert [e.action for e in logged] == ["children.consent", "children.add"]
        assert "小" not in json.dumps([e.details for e in logged], ensure_ascii=False)


def test_refusing_keeps_nothing_and_a_new_notice_asks_again(app, factory):
    community = factory.community()
    guardian = factory.user(community, Role.VERIFIED)
    base = f"/c/{community.id}/children"
    browser = client_for(app, guardian)
    refused = post(browser, f"{base}/consent", {"answer": "refuse"}, page=f"{base}/consent")
    assert refused.status_code == 303
    assert browser.get(f"{base}/new").status_code == 303  # still to the notice
    with app.test_request_context():
        user, place = (db.session.get(type(guardian), guardian.id),
                       db.session.get(Community, community.id))
        try:
            ops.add_child(user, place, "跳跳", "6-8")
        except OperationError as error:
            assert "请先阅读" in str(error)
        else:
            raise AssertionError("a child was added without consent")
    assert _children(app, guardian) == []
    assert post(browser, f"{base}/consent", {"answer": "agree"},
                page=f"{base}/consent").status_code == 303
    assert post(browser, f"{base}/new", {"nickname": "跳跳", "age_band": "6-8"},
                page=f"{base}/new").status_code == 303
    # The deployment changes the notice: no new use until the guardian answers again.
    app.config["CHILDREN_NOTICE_VERSION"] = 2
    try:
        page = text(browser.get(base).get_data(as_text=True))
        assert "现在是第 2 版" in page and "跳跳" in page  # kept, but not used anew
        assert browser.get(f"{base}/new").status_code == 303
        assert post(browser, f"{base}/consent", {"answer": "agree"},
                    page=f"{base}/consent").status_code == 303
        assert browser.get(f"{base}/new").status_code == 200
        with app.app_context():
            assert [(c.notice_version, c.agreed) for c in db.session.scalars(
                select(GuardianConsent).order_by(GuardianConsent.id))] == [
                (1, False), (1, True), (2, True)]
    finally:
        app.config["CHILDREN_NOTICE_VERSION"] = 1


def test_withdrawing_deletes_the_children_and_what_the_areas_keep(app, factory, monkeypatch):
    community = factory.community()
    guardian = factory.user(community, Role.VERIFIED)
    other = factory.user(community, Role.VERIFIED)
    base = f"/c/{community.id}/children"
    erased: list[list[int]] = []
    monkeypatch.setitem(child_data, "drawings", ChildData(
        "drawings", lambda n: f"{n} 幅画", lambda ids: 2 * len(ids), erased.append))
    browser, neighbour = client_for(app, guardian), client_for(app, other)
    for who in (browser, neighbour):
        assert post(who, f"{base}/consent", {"answer": "agree"},
                    page=f"{base}/consent").status_code == 303
    for name in ("小树", "跳跳"):
        assert post(browser, f"{base}/new", {"nickname": name, "age_band": "9-11"},
                    page=f"{base}/new").status_code == 303
    assert post(neighbour, f"{base}/new", {"nickname": "豆豆", "age_band": "6-8"},
                page=f"{base}/new").status_code == 303
    with app.app_context():
        mine = [c.id for c in db.session.scalars(select(ChildProfile).where(
            ChildProfile.guardian_id == guardian.id).order_by(ChildProfile.id))]
    # Nobody else sees or deletes a guardian's child.
    assert neighbour.get(f"{base}/{mine[0]}/delete").status_code == 404
    assert "小树" not in neighbour.get(base).get_data(as_text=True)
    # One child deleted on its own, with its drawings.
    asked = text(browser.get(f"{base}/{mine[1]}/delete").get_data(as_text=True))
    assert "删除 跳跳？" in asked and "一并删除：2 幅画" in asked
    assert post(browser, f"{base}/{mine[1]}/delete", page=base).status_code == 303
    assert _children(app, guardian) == [("小树", "9-11")] and erased == [[mine[1]]]
    erased.clear()
    assert post(browser, f"{base}/new", {"nickname": "跳跳", "age_band": "12-14"},
                page=f"{base}/new").status_code == 303
    with app.app_context():
        mine = [c.id for c in db.session.scalars(select(ChildProfile).where(
            ChildProfile.guardian_id == guardian.id).order_by(ChildProfile.id))]
    confirm = text(browser.get(f"{base}/withdraw").get_data(as_text=True))
    assert "将立即删除 2 个孩子的资料" in confirm and "4 幅画" in confirm
    done = post(browser, f"{base}/withdraw", page=f"{base}/withdraw")
    assert done.status_code == 303
    assert _children(app, guardian) == [] and _children(app, other) == [("豆豆", "6-8")]
    assert erased == [mine]
    with app.app_context():
        latest = db.session.scalar(select(GuardianConsent).where(
            GuardianConsent.user_id == guardian.id).order_by(GuardianConsent.id.desc()))
        assert latest.withdrawn_at is not None
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "children.withdraw"))
        assert event.details == {"children": "2"}
    page = text(browser.get(base).get_data(as_text=True))
    assert "撤回了同意" in page and "还没有添加孩子" in page
    assert browser.get(f"{base}/new").status_code == 303  # consent again first
    # Withdrawing twice is answered calmly.
    assert post(browser, f"{base}/withdraw", page=f"{base}/withdraw").status_code == 303


def test_refusing_after_consenting_deletes_and_a_blocked_guardian_still_withdraws(app, factory):
    from participation.communities.models import Membership
    from participation.clock import utcnow

    community = factory.community()
    guardian, blocked = (factory.user(community, Role.VERIFIED),
                         factory.user(community, Role.VERIFIED))
    base = f"/c/{community.id}/children"
    browser, other = client_for(app, guardian), client_for(app, blocked)
    for who, name in ((browser, "小树"), (other, "豆豆")):
        assert post(who, f"{base}/consent", {"answer": "agree"},
                    page=f"{base}/consent").status_code == 303
        assert post(who, f"{base}/new", {"nickname": name, "age_band": "6-8"},
                    page=f"{base}/new").status_code == 303
    # Changing one's answer to "no" is withdrawing: the children go.
    assert post(browser, f"{base}/consent", {"answer": "refuse"},
                page=f"{base}/consent").status_code == 303
    assert _children(app, guardian) == []
    # A moderator blocks the other guardian: they can no longer add a child, but still see
    # and delete what is kept.
    with app.app_context():
        membership = db.session.scalar(select(Membership).where(
            Membership.user_id == blocked.id, Membership.community_id == community.id))
        membership.blocked_at = utcnow()
        db.session.commit()
    assert other.get(f"{base}/new").status_code == 403
    assert "豆豆" in other.get(base).get_data(as_text=True)
    assert post(other, f"{base}/withdraw", page=base).status_code == 303
    assert _children(app, blocked) == []
