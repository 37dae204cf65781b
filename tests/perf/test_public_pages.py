"""Public pages for visitors not signed in come from the shared cache: no query, the visitor's
own CSRF token in their forms, and a change anywhere shows at once."""
from __future__ import annotations

import re

from tests.conftest import CSRF_RE, client_for, post
from tests.proposals.test_proposals import propose, setup


def test_visitors_share_cached_public_pages_with_their_own_token(app, factory, count_queries):
    community, people, consultation = setup(app, factory)
    lin = client_for(app, people["lin"])
    propose(lin, community, consultation, title="加装长椅")
    url = f"/c/{community.id}/proposals"
    first, second = app.test_client(), app.test_client()
    assert "加装长椅" in first.get(url).get_data(as_text=True)
    with count_queries() as queries:
        page = second.get(url).get_data(as_text=True)
    assert queries.count == 0 and "加装长椅" in page
    # The stored page carries the second visitor's own token: their forms work.
    token = CSRF_RE.search(page).group(1)
    assert token != CSRF_RE.search(first.get(url).get_data(as_text=True)).group(1)
    switched = second.post("/language", data={"csrf_token": token, "locale": "en", "next": url})
    assert switched.status_code in (302, 303)
    assert "Proposals" in second.get(url).get_data(as_text=True)  # in their language now
    # A new proposal shows to visitors at once.
    propose(lin, community, consultation, title="凉亭")
    assert "凉亭" in first.get(url).get_data(as_text=True)
    # Signed-in residents never get a stored page.
    with count_queries() as signed_in:
        assert "凉亭" in lin.get(url).get_data(as_text=True)
    assert signed_in.count > 0


def test_a_page_seeded_per_visitor_is_not_shared(app, factory):
    community, people, consultation = setup(app, factory)
    lin = client_for(app, people["lin"])
    for i in range(8):
        propose(lin, community, consultation, title=f"提议{i}")
    url = f"/c/{community.id}/proposals?sort=random"
    orders = {tuple(re.findall(r">(提议\d)</a></h2>", app.test_client().get(url)
                               .get_data(as_text=True))) for _ in range(6)}
    assert len(orders) > 1


def test_answers_say_how_many_queries_they_ran_when_asked(factory, database_url, _schema):
    from tests.conftest import make_app

    counting = make_app(_schema, COUNT_QUERIES=True)
    with counting.app_context():
        from participation.extensions import db
        community = factory.community()
        db.session.remove()
    response = counting.test_client().get(f"/c/{community.id}")
    assert int(response.headers["X-Queries"]) >= 1
    with counting.app_context():  # a second app: its connections are closed here, not by GC
        db.session.remove()
        db.engine.dispose()
