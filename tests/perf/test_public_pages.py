"""Public pages for visitors not signed in come from the shared cache: no query, the visitor's
own CSRF token in their forms, and a change anywhere shows at once."""
from __future__ import annotations

import re

from tests.conftest import CSRF_RE, client_for
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


def test_a_full_cache_keeps_the_generation_of_pages(factory, _schema):
    """However many pages a worker's cache holds, it never forgets which generation is
    current: old copies would come back as current ones."""
    from participation import pagecache
    from participation.extensions import cache, db
    from tests.conftest import make_app

    small = make_app(_schema, CACHE_THRESHOLD=10)
    with small.app_context():
        pagecache._new_generation()
        current = cache.get(pagecache.GENERATION)
        for i in range(50):  # far past what it holds
            cache.set(f"public-pages/{i}", "<html>", timeout=30)
        assert cache.get(pagecache.GENERATION) == current
        db.engine.dispose()


def test_a_refused_duplicate_does_not_hide_the_writes_before_it(app, factory):
    """A savepoint rolled back (a double click's duplicate) leaves the transaction's earlier
    writes counted: visitors' pages still start a new generation when it commits."""
    from sqlalchemy.exc import IntegrityError

    from participation import pagecache
    from participation.communities.models import Community
    from participation.extensions import cache, db

    with app.app_context():
        before = cache.get(pagecache.GENERATION) or 0
        db.session.add(Community(name="新社区", district="思明区", street="筼筜街道",
                                 committee_name="居委会", household_count=10))
        db.session.flush()
        try:
            with db.session.begin_nested():
                db.session.add(Community(id=db.session.scalar(db.select(Community.id)),
                                         name="重复", district="", street="",
                                         committee_name="", household_count=0))
                db.session.flush()
        except IntegrityError:
            pass
        db.session.commit()
        assert (cache.get(pagecache.GENERATION) or 0) > before


def test_only_the_arguments_public_pages_read_make_a_cached_copy(app, factory, count_queries):
    community = factory.community()
    visitor = app.test_client()
    for url in (f"/c/{community.id}/proposals?sort=supported",
                f"/c/{community.id}/proposals?utm=abc"):
        visitor.get(url)
        with count_queries() as queries:
            visitor.get(url)
        assert (queries.count == 0) == url.endswith("supported"), url
