"""A committee member resets the password of a resident registered with a mobile number, in
person: confirmed first, a one-time code shown once, audited, earlier links voided."""
from __future__ import annotations

import logging
import re

from sqlalchemy import select

from participation.audit.models import AuditEvent
from participation.extensions import db
from participation.policy import Role
from tests.conftest import client_for, login, post

NEW_PASSWORD = "violet harbour lantern 7"


def members_page(community) -> str:
    return f"/c/{community.id}/members"


def setup(app, factory):
    community = factory.community()
    committee = factory.user(community, Role.COMMITTEE, display_name="陈主任")
    resident = factory.user(community, Role.VERIFIED, display_name="林阿婆", phone="13900001111")
    url = (f"/c/{community.id}/members/{factory.membership_id(resident, community)}"
           "/reset-password")
    return community, client_for(app, committee), resident, url


def shown_code(html: str) -> tuple[str, str]:
    code = re.search(r'id="reset-code">([^<]+)<', html).group(1)
    link = re.search(r'id="reset-link">([^<]+)<', html).group(1)
    return code, link


def test_the_committee_gives_a_one_time_code_in_person(app, factory):
    community, committee, resident, url = setup(app, factory)
    assert url in committee.get(members_page(community)).get_data(as_text=True)
    confirm = committee.get(url)
    assert confirm.status_code == 200 and 'id="reset-code"' not in confirm.get_data(as_text=True)
    shown = post(committee, url, page=url)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    code, link = shown_code(shown.get_data(as_text=True))
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", code)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "user.password_reset_in_person"))
        assert event is not None and event.target == f"user:{resident.id}"
        assert code.replace("-", "") not in str(event.details)  # the code is never stored
    # The resident types the code, as read from the screen, on the forgot-password page.
    phone = app.test_client()
    typed = phone.get("/password/forgot", query_string={"code": code.lower().replace("-", " ")})
    assert typed.status_code == 303
    reset = typed.headers["Location"]
    assert link.endswith(reset)
    response = post(phone, reset, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page=reset)
    assert response.status_code == 303
    login(phone, resident, NEW_PASSWORD)
    assert app.test_client().get(reset).status_code == 404  # used once


def test_a_new_code_voids_the_earlier_ones_and_e_mail_links(app, factory, caplog):
    community, committee, resident, url = setup(app, factory)
    caplog.set_level(logging.WARNING, logger="participation.accounts.operations")
    post(app.test_client(), "/password/forgot", {"login": resident.login},
         page="/password/forgot")
    logged = re.search(r"(/password/reset/\S+)", caplog.text).group(1)
    first = shown_code(post(committee, url, page=url).get_data(as_text=True))[1]
    second = shown_code(post(committee, url, page=url).get_data(as_text=True))[1]
    reader = app.test_client()
    assert reader.get(logged).status_code == 404
    assert reader.get(first).status_code == 404
    assert reader.get(second).status_code == 200


def test_only_the_committee_resets_and_only_residents(app, factory):
    community, committee, resident, url = setup(app, factory)
    neighbour = client_for(app, factory.user(community, Role.VERIFIED))
    assert neighbour.get(url).status_code == 403
    planner = factory.user(community, Role.PLANNER)
    staff_url = (f"/c/{community.id}/members/{factory.membership_id(planner, community)}"
                 "/reset-password")
    assert committee.get(staff_url).status_code == 403  # staff are the admin's to manage
    mailer = factory.user(community, Role.VERIFIED, email="wang@example.cn", phone=None)
    mail_url = (f"/c/{community.id}/members/{factory.membership_id(mailer, community)}"
                "/reset-password")
    assert committee.get(mail_url).status_code == 403  # an e-mail account resets by e-mail
    assert mail_url not in committee.get(members_page(community)).get_data(as_text=True)


def test_the_forgot_password_page_tells_phone_users_to_ask_the_committee(client):
    html = client.get("/password/forgot").get_data(as_text=True)
    assert 'id="phone-reset"' in html and 'name="code"' in html
