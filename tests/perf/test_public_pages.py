"""Public pages for visitors not signed in come from the shared cache: no query, the visitor's
own CSRF token in their forms, and a change anywhere shows at once."""
from __future__ import annotations

import gzip
import re

from participation.policy import Role
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


def test_a_kept_page_comes_with_what_a_rendered_one_has(app, factory, count_queries):
    """A page served from the cache ahead of the application carries the same headers as one
    the view renders: security headers, gzip for browsers that take it, an ETag that a
    revalidation answers with 304, and, for a visitor without a session yet, a session cookie
    holding their token's secret."""
    community = factory.community()
    url = f"/c/{community.id}/proposals"
    visitor = app.test_client()
    rendered = visitor.get(url)  # the first visitor's page is rendered, then kept
    with count_queries() as queries:
        kept = visitor.get(url)
    assert queries.count == 0
    for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert kept.headers[name] == rendered.headers[name]
    # The same visitor, the same page: the same ETag either way, so either answers 304.
    assert kept.headers["ETag"] == rendered.headers["ETag"]
    assert "no-cache" in kept.headers["Cache-Control"]
    again = visitor.get(url, headers={"If-None-Match": kept.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""

    newcomer = app.test_client()  # no cookie at all, as a first visit
    with count_queries() as queries:
        first = newcomer.get(url, headers={"Accept-Encoding": "gzip"})
    assert queries.count == 0
    assert first.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in first.headers["Vary"]
    assert "session=" in first.headers["Set-Cookie"]
    # An answer that hands out a session is this browser's alone: no shared cache keeps it.
    assert "private" in first.headers["Cache-Control"]
    assert "Cookie" in kept.headers["Vary"] and "Cookie" in rendered.headers["Vary"]
    page = gzip.decompress(first.get_data()).decode()
    assert CSRF_RE.search(page).group(1) != CSRF_RE.search(rendered.get_data(as_text=True)
                                                           ).group(1)
    # Their token is good: the language switch on the kept page works for them.
    switched = newcomer.post("/language", data={"csrf_token": CSRF_RE.search(page).group(1),
                                                "locale": "en", "next": url})
    assert switched.status_code in (302, 303)


def test_signed_in_readers_and_messages_go_past_the_kept_page(app, factory):
    """The kept copy is for visitors alone: a signed-in reader, or a visitor with a message to
    see once, gets a page drawn for them."""
    community = factory.community()
    url = f"/c/{community.id}/proposals"
    app.test_client().get(url)  # kept now
    visitor = app.test_client()
    with visitor.session_transaction() as session:
        session["_flashes"] = [("info", "只给这位访客的消息")]
    assert "只给这位访客的消息" in visitor.get(url).get_data(as_text=True)
    resident = client_for(app, factory.user(community, Role.VERIFIED, display_name="读者林"))
    page = resident.get(url).get_data(as_text=True)
    assert "读者林" in page


def test_a_kept_page_is_not_answered_for_a_host_the_application_refuses(app, factory,
                                                                         count_queries):
    community = factory.community()
    url = f"/c/{community.id}/proposals"
    trusted = app.config["TRUSTED_HOSTS"]
    app.config["TRUSTED_HOSTS"] = ["linli.example.gov.cn"]
    try:
        visitor = app.test_client()
        good = {"Host": "linli.example.gov.cn"}
        assert visitor.get(url, headers=good).status_code == 200  # drawn, then kept
        refused = visitor.get(url, headers={"Host": "evil.example"})
        assert refused.status_code == 400
        with count_queries() as queries:
            assert visitor.get(url, headers=good).status_code == 200
        assert queries.count == 0
    finally:
        app.config["TRUSTED_HOSTS"] = trusted


def test_kept_pages_answer_any_list_of_trusted_hosts_as_the_application_does(
        app, factory, count_queries):
    # For each list and each host: the application's own answer (nothing kept), then the
    # answer once the page is kept (drawn for the trusted host). They agree, and where the
    # page is answered it comes from the kept copy. Werkzeug reads an empty list as "trust
    # nobody, read the host as empty", not as a refusal.
    from participation.extensions import cache

    community = factory.community()
    url = f"/c/{community.id}/proposals"
    trusted = {"Host": "linli.example.gov.cn"}
    for hosts in ([], ["linli.example.gov.cn"]):
        app.config["TRUSTED_HOSTS"] = hosts
        for host in ("linli.example.gov.cn", "evil.example"):
            visitor = app.test_client()
            with app.app_context():
                cache.clear()
            drawn = visitor.get(url, headers={"Host": host}).status_code
            with app.app_context():
                cache.clear()
            assert visitor.get(url, headers=trusted).status_code == 200  # drawn, then kept
            with count_queries() as queries:
                kept = visitor.get(url, headers={"Host": host}).status_code
            assert kept == drawn == (400 if hosts and host == "evil.example" else 200), \
                (hosts, host)
            if kept == 200:
                assert queries.count == 0, (hosts, host)
