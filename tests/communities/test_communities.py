"""Communities, roles, roster import, invite codes, verification, revocation, audit."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape as html_unescape

from sqlalchemy import func, select, update

from participation.accounts.models import User
from participation.audit.models import AuditEvent
from participation.clock import utcnow
from participation.communities.models import Household, InviteCode, Membership
from participation.extensions import db
from participation.policy import Role
from tests.conftest import login, post

ROSTER = "building,unit,room,floor_area,resident_names\n" \
         "1号楼,1单元,101,89.5,陈某某\n1号楼,1单元,102,,林某某\n2号楼,1单元,101,120,\n"


def households(app, community) -> list[Household]:
    with app.app_context():
        return db.session.scalars(select(Household).where(
            Household.community_id == community.id).order_by(Household.id)).all()


def audit_actions(app, community) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.community_id == community.id).order_by(AuditEvent.id)).all()


def test_admin_creates_community_and_assigns_planner(app, client, factory):
    admin = factory.user(admin=True)
    planner = factory.user(display_name="刘规划师", email="liu@example.cn", phone=None)
    login(client, admin)
    response = post(client, "/admin/communities/new", {
        "name": "金榜社区", "district": "思明区", "street": "筼筜街道",
        "committee_name": "金榜社区居委会", "household_count": "2860"},
        page="/admin/communities/new")
    assert response.status_code == 303
    page = response.headers["Location"]
    response = post(client, page, {"login": "liu@example.cn", "role": "planner"}, page=page)
    assert response.status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert "刘规划师" in html and "责任规划师" in html
    with app.app_context():
        m = db.session.scalar(select(Membership).where(Membership.user_id == planner.id))
        assert m.role == "planner"


def test_duplicate_community_name_is_explained(client, factory):
    admin = factory.user(admin=True)
    factory.community(name="金榜社区")
    login(client, admin)
    html = post(client, "/admin/communities/new", {
        "name": "金榜社区", "district": "思明区", "street": "筼筜街道",
        "committee_name": "居委会"}, page="/admin/communities/new").get_data(as_text=True)
    assert "已有同名社区" in html
    assert 'value="筼筜街道"' in html


def committee_client(app, factory, client):
    community = factory.community()
    member = factory.user(community, Role.COMMITTEE, display_name="陈主任")
    login(client, member)
    return community, member


def test_roster_preview_then_import(app, client, factory):
    community, _ = committee_client(app, factory, client)
    url = f"/c/{community.id}/households/import"
    response = post(client, url, {"file": (io.BytesIO(ROSTER.encode("utf-8-sig")), "r.csv")},
                    page=url, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "3" in html and "陈某某" in html
    assert households(app, community) == []  # the preview writes nothing
    carried = re.search(r'id="roster-to-import" name="text" type="hidden" value="([^"]*)"', html)
    assert carried, "the confirm form carries the roster"
    response = post(client, f"{url}/confirm", {"text": html_unescape(carried.group(1))}, page=url)
    assert response.status_code == 303
    rows = households(app, community)
    assert [(h.building, h.room) for h in rows] == [("1号楼", "101"), ("1号楼", "102"),
                                                    ("2号楼", "101")]
    assert str(rows[0].floor_area) == "89.50" and rows[1].floor_area is None
    # Importing the same roster again adds nothing and says so.
    post(client, f"{url}/confirm", {"text": ROSTER}, page=url)
    assert len(households(app, community)) == 3
    assert audit_actions(app, community).count("household.import") == 2


def test_malformed_roster_reports_each_line_and_imports_nothing(app, client, factory):
    community, _ = committee_client(app, factory, client)
    url = f"/c/{community.id}/households/import"
    bad = ("楼栋,单元,房号,建筑面积\n1号楼,1单元,101,80\n1号楼,,102,80\n"
           "1号楼,1单元,103,-5\n1号楼,1单元,101,70\n")
    html = post(client, url, {"text": bad}, page=url).get_data(as_text=True)
    assert "第 3 行" in html or "第3行" in html
    assert "-5" in html
    assert "第 5 行" in html or "第5行" in html
    assert "导入" in html
    # Forcing the confirm step anyway is refused as a whole.
    response = post(client, f"{url}/confirm", {"text": bad}, page=url)
    assert response.status_code == 200
    assert households(app, community) == []


def test_roster_saved_by_chinese_excel_in_gbk_is_read(app, client, factory):
    community, _ = committee_client(app, factory, client)
    url = f"/c/{community.id}/households/import"
    gbk = "楼栋,单元,房号\n1号楼,1单元,101\n".encode("gbk")
    html = post(client, url, {"file": (io.BytesIO(gbk), "r.csv")}, page=url,
                content_type="multipart/form-data").get_data(as_text=True)
    assert "1号楼" in html
    assert households(app, community) == []  # still only a preview


def issue_codes(client, community, **data) -> list[str]:
    url = f"/c/{community.id}/invites"
    response = post(client, url, {"days": "30", "only_without_code": "y", **data}, page=url)
    assert response.status_code == 303
    return sheet_codes(client, response.headers["Location"])


def sheet_codes(client, sheet_url: str) -> list[str]:
    response = client.get(sheet_url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return re.findall(r'<strong class="code">([A-Z0-9-]+)</strong>', response.get_data(as_text=True))


def test_invite_codes_are_hashed_single_use_and_verify_the_household(app, client, factory):
    community, _ = committee_client(app, factory, client)
    house = factory.household(community, room="301")
    codes = issue_codes(client, community)
    assert len(codes) == 1
    code = codes[0]
    with app.app_context():
        stored = db.session.scalar(select(InviteCode))
        assert code.replace("-", "") not in stored.code_hash  # only the hash is kept
    resident_client = app.test_client()
    resident = factory.user(display_name="林阿婆")
    login(resident_client, resident)
    response = post(resident_client, "/redeem", {"code": code.lower()}, page="/redeem")
    assert response.status_code == 303
    html = resident_client.get(response.headers["Location"]).get_data(as_text=True)
    assert community.name in html and "已认证居民" in html and "301" in html
    with app.app_context():
        m = db.session.scalar(select(Membership).where(Membership.user_id == resident.id))
        assert (m.role, m.household_id) == ("verified", house.id)

    # The same code a second time, by somebody else.
    other = app.test_client()
    login(other, factory.user())
    html = post(other, "/redeem", {"code": code}, page="/redeem").get_data(as_text=True)
    assert "已经用过了" in html
    assert f'value="{code}"' in html
    assert "invite.redeem" in audit_actions(app, community)


def test_expired_and_unknown_codes_are_refused(app, client, factory):
    community, _ = committee_client(app, factory, client)
    factory.household(community)
    code = issue_codes(client, community)[0]
    with app.app_context():
        db.session.execute(update(InviteCode).values(expires_at=utcnow() - timedelta(days=1)))
        db.session.commit()
    resident = app.test_client()
    login(resident, factory.user())
    assert "已过期" in post(resident, "/redeem", {"code": code}, page="/redeem").get_data(as_text=True)
    assert "无效" in post(resident, "/redeem", {"code": "AAAA-BBBB-CCCC"},
                          page="/redeem").get_data(as_text=True)


def test_redeem_with_htmx_returns_fragment_or_redirect(app, client, factory):
    community, _ = committee_client(app, factory, client)
    factory.household(community)
    code = issue_codes(client, community)[0]
    resident = app.test_client()
    login(resident, factory.user())
    bad = post(resident, "/redeem", {"code": "WRONG"}, page="/redeem",
               headers={"HX-Request": "true"})
    assert bad.status_code == 200
    assert "<html" not in bad.get_data(as_text=True)
    assert 'id="redeem-form"' in bad.get_data(as_text=True)
    assert "HX-Request" in bad.headers["Vary"]
    good = post(resident, "/redeem", {"code": code}, page="/redeem",
                headers={"HX-Request": "true"})
    assert good.headers["HX-Redirect"] == f"/c/{community.id}"


def test_reissuing_replaces_unused_codes(app, client, factory):
    community, _ = committee_client(app, factory, client)
    factory.household(community)
    first = issue_codes(client, community)[0]
    second = issue_codes(client, community, only_without_code="")[0]
    assert first != second
    resident = app.test_client()
    login(resident, factory.user())
    assert "无效" in post(resident, "/redeem", {"code": first}, page="/redeem").get_data(as_text=True)
    assert post(resident, "/redeem", {"code": second}, page="/redeem").status_code == 303


def test_committee_verifies_in_person_and_revokes(app, client, factory):
    community, _ = committee_client(app, factory, client)
    factory.household(community, building="3号楼", unit="2单元", room="502")
    resident = factory.user(community, Role.RESIDENT, display_name="蔡先生")
    mid = factory.membership_id(resident, community)
    url = f"/c/{community.id}/members/{mid}/verify"
    html = post(client, url, {"building": "3号楼", "unit": "2单元", "room": "999"},
                page=url).get_data(as_text=True)
    assert "没有" in html or "不存在" in html
    # Typed the way people say it: "3" for 3号楼, "2" for 2单元.
    response = post(client, url, {"building": "3", "unit": "2", "room": "502"}, page=url)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Membership, mid).role == "verified"

    resident_client = app.test_client()
    login(resident_client, resident)
    assert resident_client.get(f"/c/{community.id}").status_code == 200
    revoke = f"/c/{community.id}/members/{mid}/revoke"
    confirm_page = client.get(revoke).get_data(as_text=True)
    assert "蔡先生" in confirm_page  # a confirmation step before the destructive action
    assert post(client, revoke, {"reason": "已搬离"}, page=revoke).status_code == 303
    assert resident_client.get(f"/c/{community.id}").status_code == 403
    log = client.get(f"/c/{community.id}/audit").get_data(as_text=True)
    assert "已搬离" in log and "陈主任" in log and "蔡先生" in log
    assert "reason" not in log and "in_person" not in log  # details are translated
    assert audit_actions(app, community)[-2:] == ["membership.verify", "membership.revoke"]


def test_user_in_two_communities_switches(app, client, factory):
    first, second = factory.community(), factory.community()
    user = factory.user(first, Role.VERIFIED)
    login(client, user)
    # The page is public; a visitor is offered to join it.
    assert f'action="/communities/{second.id}/join"' in client.get(
        f"/c/{second.id}").get_data(as_text=True)
    assert post(client, f"/communities/{second.id}/join").status_code == 303
    assert client.get(f"/c/{second.id}").status_code == 200
    with app.app_context():
        assert db.session.get(User, user.id).current_community_id == second.id
    post(client, f"/communities/{first.id}/switch")
    with app.app_context():
        assert db.session.get(User, user.id).current_community_id == first.id
    # Logging in again lands on the current community.
    fresh = app.test_client()
    assert login(fresh, user).headers["Location"] == f"/c/{first.id}"
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Membership).where(
            Membership.user_id == user.id))
        assert count == 2


def test_member_list_has_bounded_queries(app, client, factory, count_queries):
    community, _ = committee_client(app, factory, client)
    url = f"/c/{community.id}/members"
    client.get(url)
    with count_queries() as few:
        client.get(url)
    for _ in range(20):
        factory.user(community, Role.RESIDENT)
    with count_queries() as many:
        html = client.get(url).get_data(as_text=True)
    assert html.count("<tr") == 22
    assert many.count == few.count


def test_committee_cannot_revoke_staff_or_themselves(app, client, factory):
    community, me = committee_client(app, factory, client)
    planner = factory.user(community, Role.PLANNER)
    for target in (planner, me):
        mid = factory.membership_id(target, community)
        url = f"/c/{community.id}/members/{mid}/revoke"
        assert client.get(url).status_code == 403
        token_page = f"/c/{community.id}/members"
        assert post(client, url, {"reason": "x"}, page=token_page).status_code == 403
    html = client.get(f"/c/{community.id}/members").get_data(as_text=True)
    assert "/revoke" not in html  # no link offered for what is not allowed
    with app.app_context():
        assert db.session.get(Membership, factory.membership_id(planner, community)).active


def test_verified_resident_cannot_take_a_second_household(app, client, factory):
    community, _ = committee_client(app, factory, client)
    factory.household(community)
    factory.household(community)
    first, second = issue_codes(client, community)
    resident = app.test_client()
    login(resident, factory.user())
    assert post(resident, "/redeem", {"code": first}, page="/redeem").status_code == 303
    html = post(resident, "/redeem", {"code": second}, page="/redeem").get_data(as_text=True)
    assert "另一户" in html
    with app.app_context():  # the second code is still unused for its own household
        assert db.session.scalar(select(func.count()).select_from(InviteCode).where(
            InviteCode.used_at.is_(None))) == 1


def test_double_click_on_join_joins_once(app, client, factory):
    community = factory.community()
    user = factory.user()
    login(client, user)
    first = post(client, f"/communities/{community.id}/join")
    second = post(client, f"/communities/{community.id}/join")
    assert first.status_code == second.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Membership)) == 1


def test_one_live_code_per_household_is_a_database_rule(app, factory):
    import pytest
    from sqlalchemy.exc import IntegrityError

    community = factory.community()
    house = factory.household(community)
    with app.app_context():
        for n in range(2):
            db.session.add(InviteCode(community_id=community.id, household_id=house.id,
                                      code_hash=f"{n:064d}", expires_at=utcnow()))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_households_are_listed_in_counting_order(app, client, factory):
    community, _ = committee_client(app, factory, client)
    for building, room in (("10号楼", "101"), ("2号楼", "1001"), ("2号楼", "201"), ("1号楼", "101")):
        factory.household(community, building=building, room=room)
    html = client.get(f"/c/{community.id}/households").get_data(as_text=True)
    rows = re.findall(r"<tr><td[^>]*>(\d+号楼)</td><td[^>]*>[^<]*</td><td[^>]*>(\d+)</td>", html)
    assert rows == [("1号楼", "101"), ("2号楼", "201"), ("2号楼", "1001"), ("10号楼", "101")]


def test_revoked_resident_is_told_why(app, client, factory):
    community, _ = committee_client(app, factory, client)
    resident = factory.user(community, Role.VERIFIED)
    revoke = f"/c/{community.id}/members/{factory.membership_id(resident, community)}/revoke"
    post(client, revoke, {"reason": "重复账号"}, page=revoke)
    other = app.test_client()
    login(other, resident)
    response = other.get(f"/c/{community.id}")
    assert response.status_code == 403
    assert "重复账号" in response.get_data(as_text=True)
    home = other.get("/").get_data(as_text=True)
    assert "您的成员资格已被移除" in home and "加入本社区" not in home


def test_page_past_the_end_says_so(app, client, factory):
    community, _ = committee_client(app, factory, client)
    factory.household(community)
    html = client.get(f"/c/{community.id}/households?page=99").get_data(as_text=True)
    assert "超出列表范围" in html and "住户名册是空的" not in html


def test_admin_home_offers_no_resident_actions(client, factory):
    factory.community()
    login(client, factory.user(admin=True))
    html = client.get("/").get_data(as_text=True)
    assert "加入本社区" not in html and "/redeem" not in html


def test_code_sheet_can_be_reopened_and_leaves_out_spent_codes(app, client, factory):
    community, _ = committee_client(app, factory, client)
    factory.household(community)
    factory.household(community)
    url = f"/c/{community.id}/invites"
    sheet = post(client, url, {"days": "30", "only_without_code": "y"}, page=url).headers["Location"]
    first = sheet_codes(client, sheet)
    assert len(first) == 2 and sheet_codes(client, sheet) == first  # a reload changes nothing
    with app.app_context():  # the database holds hashes, never the codes
        stored = db.session.scalars(select(InviteCode.code_hash)).all()
        assert not {c.replace("-", "") for c in first} & set(stored)
    resident = app.test_client()
    login(resident, factory.user())
    assert post(resident, "/redeem", {"code": first[0]}, page="/redeem").status_code == 303
    again = client.get(sheet).get_data(as_text=True)
    assert sheet_codes(client, sheet) == first[1:]
    assert "已使用" in again or "已用" in again
    assert "打印" in client.get(url).get_data(as_text=True)


def test_slips_use_the_configured_public_address_and_warn_about_a_local_one(app, client, factory):
    community, _ = committee_client(app, factory, client)
    factory.household(community)
    url = f"/c/{community.id}/invites"
    sheet = post(client, url, {"days": "30", "only_without_code": "y"}, page=url).headers["Location"]
    local = client.get(sheet).get_data(as_text=True)
    assert "只有这台电脑能打开" in local and "http://localhost/" in local
    app.config["BASE_URL"] = "https://linli.siming.gov.cn"
    public = client.get(sheet).get_data(as_text=True)
    assert "只有这台电脑能打开" not in public and "https://linli.siming.gov.cn/" in public


def test_addresses_read_as_residents_write_them(app, factory):
    community = factory.community()
    typed_bare = factory.household(community, building="3", unit="2", room="502")
    typed_full = factory.household(community, building="5号楼", unit="1单元", room="101室")
    lin = factory.user(community, Role.VERIFIED, household=typed_bare)
    wang = factory.user(community, Role.VERIFIED, household=typed_full)
    for user, address in ((lin, "3号楼2单元502室"), (wang, "5号楼1单元101室")):
        client = app.test_client()
        login(client, user)
        assert address in client.get(f"/c/{community.id}").get_data(as_text=True)
