"""Fixtures: a real database (SQLite file, or PostgreSQL via TEST_DATABASE_URL) built by the
migrations once per run and emptied after every test; app/client/runner; factories; login."""
from __future__ import annotations

import copy
import os
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, event, make_url, select, text
from werkzeug.security import generate_password_hash

from app import create_app
from participation import clock
from participation.accounts.models import User
from participation.clock import utcnow
from participation.communities.models import Community, Household, Membership
from participation.consultations.models import Consultation, Phase
from participation.extensions import cache, db, limiter
from participation.phases import TEMPLATES
from participation.policy import Role

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id) -> str:
    """One database per test worker (pytest-xdist runs the suite in parallel): an SQLite file in
    the worker's temporary folder, or on PostgreSQL a database of its own beside
    TEST_DATABASE_URL's, created when missing."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    if worker_id == "master":
        return url
    base = make_url(url)
    name = f"{base.database}_{worker_id}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                           {"name": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


# Pictures uploaded by the tests go to a folder of their own, never the checkout's instance/.
UPLOADS = tempfile.mkdtemp(prefix="linli-test-uploads-")


class _CompiledTemplates(BytecodeCache):
    """The applications a test worker makes (its shared one, and those of tests that need
    other settings) share their templates' compiled code, kept under the name and the checksum
    of each template's source, so each template is compiled once per worker."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if (code := self.code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


def make_app(database_url: str, **extra):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SERVER_NAME": None,
        "UPLOAD_FOLDER": UPLOADS,
        # Tests read a vote's results right after voting; tests/proposals/ballots/
        # test_stored_tally.py turns the sharing of interim counts on.
        "INTERIM_RESULTS_SECONDS": 0,
        **extra,
    }
    app = create_app(config)
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    return app


@pytest.fixture(scope="session")
def _schema(database_url):
    """Build the schema once through the real migrations."""
    app = make_app(database_url)
    with app.app_context():
        if database_url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        db.engine.dispose()
    return database_url


def empty_tables() -> None:
    # DELETE, children first, rather than TRUNCATE: on PostgreSQL a TRUNCATE of every table
    # costs about 100 ms, eight times the DELETEs of the few rows a test leaves.
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(text(f'DELETE FROM "{table.name}"'))
    if db.engine.dialect.name == "postgresql":
        # Ids start again at 1, as on SQLite once its tables are empty.
        db.session.execute(text(
            "SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"))
    db.session.commit()


# One application per test worker, as a server process has one: building it (its routes, its
# engine's compiled statements) cost more than many a test. Each test gets it back as built:
# its configuration as created, its cache and rate limits empty (and kept in memory again,
# should a test's own application have pointed the one rate limiter at Redis), its tables
# empty. A test that needs other settings makes an application of its own with `make_app`.
_APPS: dict[str, tuple[Flask, dict, dict]] = {}


@pytest.fixture
def app(_schema):
    # No app context stays pushed during a test: each request must get its own, exactly as in
    # production (a shared one would leak `g`, and with it the logged-in user, across requests).
    if _schema not in _APPS:
        built = make_app(_schema)
        _APPS[_schema] = built, copy.deepcopy(dict(built.config)), _limiter_state()
    app, config, rate_limits = _APPS[_schema]
    vars(limiter).update(rate_limits)
    with app.app_context():
        limiter.reset()
        cache.clear()
    try:
        yield app
        with app.app_context():
            empty_tables()
            cache.clear()
            db.session.remove()
    finally:
        app.config.clear()
        app.config.update(copy.deepcopy(config))


def _limiter_state() -> dict:
    """What `init_app` sets on the one rate limiter (its storage among it): every application
    made after this one sets it again for itself."""
    state = dict(vars(limiter))
    return {**state, **{k: dict(v) for k, v in state.items() if isinstance(v, dict)}}


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- helpers ----------------------------------------------------------------------------------


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def post(client, url: str, data: dict | None = None, page: str = "/", **kwargs):
    """POST a form the way a browser does: with the CSRF token from a page of the same session."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def phases_form(html: str) -> dict:
    """The phases form as the page shows it, posted back unchanged: every saved row with its
    phase id, the spare row left empty (its kind select always has a value)."""
    values = dict(re.findall(
        r'name="(phases-\d+-(?:starts_at|ends_at|phase_id))"[^>]*value="([^"]*)"', html))
    kinds = dict(re.findall(r'name="(phases-\d+-kind)">.*?selected value="(\w+)"', html, re.S))
    return {**values, **kinds, f"phases-{len(kinds)}-kind": "collect"}


def click_together(app, client, url: str, page: str, times: int = 6,
                   data: dict | None = None) -> list[int]:
    """The same signed-in browser POSTs `url` `times` times at once (a nervous double click),
    each from its own thread, against the real database with real commits."""
    import threading

    token = csrf_from(client.get(page).get_data(as_text=True))
    cookie = client.get_cookie("session").value
    statuses, start = [], threading.Barrier(times)

    def click():
        browser = app.test_client()
        browser.set_cookie("session", cookie)
        start.wait()
        statuses.append(browser.post(url, data={**(data or {}), "csrf_token": token}
                                     ).status_code)

    threads = [threading.Thread(target=click) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def login(client, user: User, password: str = PASSWORD):
    response = post(client, "/login", {"login": user.login, "password": password}, page="/login")
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


class Factory:
    """Builds committed rows; every object is real and visible to other connections.

    Objects come back detached, with their columns loaded."""

    def __init__(self, app):
        self.app = app
        self.n = 0

    def _save(self, *objects):
        db.session.add_all(objects)
        db.session.commit()
        for obj in objects:
            db.session.refresh(obj)
            db.session.expunge(obj)
        return objects[0]

    def _next(self) -> int:
        self.n += 1
        return self.n

    def community(self, **kw) -> Community:
        n = self._next()
        with self.app.app_context():
            return self._save(Community(
                name=kw.pop("name", f"测试社区{n}"), district=kw.pop("district", "厦门市思明区"),
                street=kw.pop("street", "筼筜街道"),
                committee_name=f"测试社区{n}居委会", **kw))

    def household(self, community: Community, building="1号楼", unit="1单元", room=None,
                  floor_area=None) -> Household:
        with self.app.app_context():
            return self._save(Household(
                community_id=community.id, building=building, unit=unit,
                room=room or str(100 + self._next()), floor_area=floor_area))

    def user(self, community: Community | None = None, role: Role | None = None,
             admin: bool = False, household: Household | None = None, **kw) -> User:
        n = self._next()
        with self.app.app_context():
            user = User(display_name=kw.pop("display_name", f"居民{n}"),
                        phone=kw.pop("phone", f"139{n:08d}"),
                        password_hash=_PASSWORD_HASH, is_admin=admin, **kw)
            db.session.add(user)
            db.session.flush()
            if community is not None and role is not None:
                db.session.add(Membership(
                    user_id=user.id, community_id=community.id, role=role.value,
                    household_id=household.id if household else None,
                    verified_at=utcnow() if role == Role.VERIFIED else None))
                user.current_community_id = community.id
            return self._save(user)

    def consultation(self, community: Community, title: str = "口袋公园", description: str = "",
                     **kw):
        """A micro-space consultation whose collect phase runs now (from yesterday, 10 days)."""
        now = utcnow()
        with self.app.app_context():
            c = Consultation(community_id=community.id, template="micro_space", title=title,
                             description=description, **kw)
            c.phases.append(Phase(kind="collect", starts_at=now - timedelta(days=1),
                                  ends_at=now + timedelta(days=10)))
            return self._save(c)

    def topic(self, consultation, author: User, title: str = "座椅", body: str = ""):
        from participation.discussions.models import Topic

        with self.app.app_context():
            return self._save(Topic(consultation_id=consultation.id, author_id=author.id,
                                    title=title, body=body))

    def membership_id(self, user: User, community: Community) -> int:
        with self.app.app_context():
            return db.session.scalar(select(Membership.id).where(
                Membership.user_id == user.id, Membership.community_id == community.id))


# The factory's people are test data: a cheap scrypt keeps the suite's many logins fast (the
# app's own hashing, at full cost, is what registration and password changes exercise).
_PASSWORD_HASH = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")


@pytest.fixture
def factory(app) -> Factory:
    return Factory(app)


@pytest.fixture
def count_queries(app):
    """Count the SQL statements run inside the `with` block."""

    class Counter:
        def __init__(self):
            self.statements: list[str] = []

        @property
        def count(self) -> int:
            return len(self.statements)

        def __enter__(self):
            with app.app_context():
                self.engine = db.engine
            event.listen(self.engine, "before_cursor_execute", self._hit)
            return self

        def __exit__(self, *exc):
            event.remove(self.engine, "before_cursor_execute", self._hit)

        def _hit(self, _conn, _cursor, statement, *args):
            self.statements.append(statement)

    return Counter


ROOT = Path(__file__).resolve().parent.parent


# --- a consultation to talk in, and helpers of the module tests --------------------------------

START = datetime(2027, 3, 1, 0, 0)


@pytest.fixture
def place(app, factory):
    """A community with a planner, two residents, a moderator, and a micro-space consultation
    whose collect phase runs from START for 21 days."""
    community = factory.community()
    people = {
        "planner": factory.user(community, Role.PLANNER, display_name="刘规划师"),
        "lin": factory.user(community, Role.VERIFIED, display_name="林阿婆"),
        "wang": factory.user(community, Role.VERIFIED, display_name="王师傅"),
        "mod": factory.user(community, Role.MODERATOR, display_name="苏阿姨"),
    }
    with app.app_context():
        c = Consultation(community_id=community.id, template="micro_space", title="口袋公园改造",
                         description="**3号楼后面**的空地")
        start = START
        for spec in TEMPLATES["micro_space"].phases:
            c.phases.append(Phase(kind=spec.kind, starts_at=start,
                                  ends_at=start + timedelta(days=spec.days)))
            start += timedelta(days=spec.days)
        db.session.add(c)
        db.session.commit()
        consultation_id = c.id
    return community, people, consultation_id


@pytest.fixture
def at(monkeypatch):
    """Freeze the clock of every phase rule."""
    def freeze(moment: datetime):
        monkeypatch.setattr(clock, "now", lambda: moment)
    return freeze


def client_for(app, user):
    client = app.test_client()
    login(client, user)
    return client


def open_topic(client, community, consultation_id, title="座椅太少") -> int:
    url = f"/c/{community.id}/consultations/{consultation_id}/topics/new"
    response = post(client, url, {"title": title, "body": "老人没地方坐"}, page=url)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def comment(client, community, topic_id, body, stance=None, parent=None, **kw):
    page = f"/c/{community.id}/topics/{topic_id}"
    data = {"body": body, "parent_id": str(parent or "")}
    if stance:
        data["stance"] = stance
    return post(client, f"{page}/comments", data, page=page, **kw)


def comment_id(response) -> int:
    return int(re.search(r"#comment-(\d+)$", response.headers["Location"]).group(1))


def image_bytes(fmt="PNG", size=(64, 48), exif=False) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    image = Image.new("RGB", size, "orange")
    if exif:
        data = Image.Exif()
        data[0x010E] = "GPS: 24.48N 118.09E"  # ImageDescription standing in for private data
        image.save(buffer, fmt, exif=data)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()
