"""Every request's fixed cost: who is signed in, their session and their communities come in
one query, however many communities they belong to."""
from __future__ import annotations

import time

from sqlalchemy import event

from participation.communities.models import Membership
from participation.extensions import db
from participation.policy import Role
from tests.conftest import login


def statements(app, client, url) -> list[str]:
    seen = []

    def hit(_conn, _cursor, statement, *args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", hit)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", hit)
    assert response.status_code == 200
    return seen


def test_signed_in_user_costs_one_query_whatever_their_communities(app, client, factory):
    home = factory.community()
    user = factory.user(home, Role.RESIDENT)
    login(client, user)
    url = f"/c/{home.id}"
    client.get(url)  # the community's figures are cached from here on
    one = statements(app, client, url)
    with app.app_context():
        for _ in range(4):
            db.session.add(Membership(user_id=user.id, community_id=factory.community().id,
                                      role=Role.RESIDENT.value))
        db.session.commit()
    five = statements(app, client, url)
    assert len(five) == len(one) <= 8
    # The session check, the user and their memberships with communities: one statement.
    assert sum("user_session" in s for s in five) == 1
    assert not any(s.lstrip().startswith("SELECT user_session") for s in five)
    # The account page lists all five, from the same query.
    account = statements(app, client, "/account")
    assert len(account) <= 4
    assert client.get("/account").get_data(as_text=True).count("测试社区") >= 5


def test_revoked_session_signs_nobody_in(app, client, factory):
    home = factory.community()
    user = factory.user(home, Role.RESIDENT)
    login(client, user)
    from participation.accounts.models import UserSession
    from participation.clock import utcnow

    with app.app_context():
        db.session.execute(db.update(UserSession).values(revoked_at=utcnow()))
        db.session.commit()
    response = client.get("/account")
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


def test_unchanged_public_page_answers_304_and_a_change_shows(app, client, factory):
    community = factory.community(name="筼筜社区")
    url = f"/c/{community.id}"
    for encoding in ("gzip", ""):
        first = client.get(url, headers={"Accept-Encoding": encoding})
        assert first.status_code == 200 and first.headers["ETag"]
        assert "no-cache" in first.headers["Cache-Control"]
        # A second later the page's CSRF token is signed anew: the page is still the same.
        time.sleep(1.05)
        again = client.get(url, headers={"Accept-Encoding": encoding,
                                         "If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
    with app.app_context():
        from participation.communities.models import Community

        db.session.get(Community, community.id).name = "筼筜新社区"
        db.session.commit()
    changed = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert "筼筜新社区" in changed.get_data(as_text=True)


def test_a_page_kept_from_before_a_logout_is_sent_again(app, client, factory):
    """Its form's token belonged to the session that ended: a 304 would keep a form that
    can only fail."""
    from tests.conftest import csrf_from

    user = factory.user(factory.community(), Role.VERIFIED)
    first = client.get("/login")
    login(client, user)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(
        as_text=True))})
    again = client.get("/login", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
