"""The platform admin takes a staff role back: confirmed first, audited, and never from the
community's last committee member."""
from __future__ import annotations

from sqlalchemy import select

from participation.audit.models import AuditEvent
from participation.communities.models import Membership
from participation.extensions import db
from participation.policy import Role
from tests.conftest import client_for, post


def role_of(app, user) -> str:
    with app.app_context():
        return db.session.scalar(select(Membership.role).where(Membership.user_id == user.id))


def test_the_admin_removes_a_role_after_confirming(app, factory):
    community = factory.community()
    household = factory.household(community)
    planner = factory.user(community, Role.PLANNER, household=household, display_name="刘规划师")
    factory.user(community, Role.COMMITTEE)
    admin = client_for(app, factory.user(admin=True))
    page = f"/admin/communities/{community.id}"
    url = f"{page}/members/{factory.membership_id(planner, community)}/remove-role"
    assert url in admin.get(page).get_data(as_text=True)
    confirm = admin.get(url)
    assert confirm.status_code == 200 and "刘规划师" in confirm.get_data(as_text=True)
    assert role_of(app, planner) == "planner"  # opening the page changes nothing
    response = post(admin, url, page=url)
    assert response.status_code == 303 and response.headers["Location"] == page
    assert role_of(app, planner) == "verified"  # linked to a household: verified again
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "membership.remove_role"))
        assert event is not None and event.details["role"] == "planner"
    assert "刘规划师" not in admin.get(page).get_data(as_text=True).split("<h2>")[1]
    # The role is gone from what the planner may do.
    former = client_for(app, planner)
    assert former.get(f"/c/{community.id}/consultations/new").status_code == 403


def test_the_last_committee_member_keeps_the_role(app, factory):
    community = factory.community()
    committee = factory.user(community, Role.COMMITTEE, display_name="陈主任")
    admin = client_for(app, factory.user(admin=True))
    url = (f"/admin/communities/{community.id}/members/"
           f"{factory.membership_id(committee, community)}/remove-role")
    response = post(admin, url, page=url, follow_redirects=True)
    assert "陈主任" in response.get_data(as_text=True)
    assert role_of(app, committee) == "committee"
    second = factory.user(community, Role.COMMITTEE)
    assert post(admin, url, page=url).status_code == 303
    assert role_of(app, committee) == "resident"
    assert role_of(app, second) == "committee"


def test_only_the_admin_removes_roles(app, factory):
    community = factory.community()
    planner = factory.user(community, Role.PLANNER)
    committee = client_for(app, factory.user(community, Role.COMMITTEE))
    url = (f"/admin/communities/{community.id}/members/"
           f"{factory.membership_id(planner, community)}/remove-role")
    assert post(committee, url, page=f"/c/{community.id}").status_code == 403
    assert role_of(app, planner) == "planner"
