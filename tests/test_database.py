"""Migrations match the models; SQLite runs with WAL, foreign keys and up-front write locks."""
from __future__ import annotations

import os
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app import create_app
from participation.accounts.models import User
from participation.communities.models import Community
from participation.database import include_name
from participation.extensions import db
from participation.security import hash_password


def test_models_match_the_migration_head(app):
    with app.app_context():
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": include_name})
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_upgrade_downgrade_round_trip(tmp_path):
    url = f"sqlite:///{tmp_path / 'round.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        with db.engine.connect() as conn:
            tables = conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type='table' AND name != 'alembic_version'"
            )).scalars().all()
        assert tables == []
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM community")).scalar() == 0
        db.engine.dispose()


@pytest.fixture
def sqlite_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'linli.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_sqlite_settings(sqlite_app):
    with sqlite_app.app_context():
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_foreign_keys_are_enforced(sqlite_app):
    from sqlalchemy.exc import IntegrityError

    from participation.communities.models import Household

    with sqlite_app.app_context():
        db.session.add(Household(community_id=999, building="1", unit="1", room="1"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_concurrent_writers_never_see_database_is_locked(sqlite_app):
    """Eight threads each read then write in one transaction, many times, on a file database
    with real commits. With deferred transactions, two readers that both try to upgrade to a
    write lock deadlock and one fails at once with "database is locked"; BEGIN IMMEDIATE makes
    them queue instead."""
    with sqlite_app.app_context():
        community = Community(name="并发社区", district="d", street="s", committee_name="c")
        db.session.add(community)
        db.session.commit()
        community_id = community.id
    password_hash = hash_password("irrelevant pass")
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            # Inside a POST request, as the web app runs it.
            with sqlite_app.test_request_context("/", method="POST"):
                start.wait()
                for i in range(15):
                    count = db.session.scalar(text("SELECT count(*) FROM user"))
                    db.session.add(User(display_name=f"u{n}-{i}-{count}", phone=f"1{n:02d}{i:08d}",
                                        password_hash=password_hash,
                                        current_community_id=community_id))
                    db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sqlite_app.app_context():
        assert db.session.scalar(text("SELECT count(*) FROM user")) == 120


def test_a_waiting_writer_goes_the_moment_the_last_one_commits(sqlite_app):
    """Writers queue on the lock file beside the database (where they are let through as soon
    as the writer before them commits) rather than in SQLite's growing sleeps of up to 100 ms."""
    import fcntl
    import time

    from participation.database import QueuedWriter

    path = sqlite_app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    first = QueuedWriter(path, isolation_level=None)
    first.wait_for_writer_turn()
    first.execute("BEGIN IMMEDIATE")
    first.execute("INSERT INTO community (name, district, street, committee_name, "
                  "created_at) VALUES ('甲', 'd', 's', 'c', '2026-01-01')")
    got_in: list[float] = []

    def second_writer() -> None:
        with sqlite_app.test_request_context("/", method="POST"):
            db.session.execute(text("SELECT 1"))  # begins: waits its turn
            got_in.append(time.monotonic())
            db.session.rollback()

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.3)
    assert got_in == []  # still waiting for the first writer
    probe = os.open(path + "-writer", os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):  # the turn is the first writer's, on the lock file
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        first.commit()
        thread.join(timeout=10)
        assert len(got_in) == 1  # the second writer got its turn, and gave it back
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(probe)
        first.close()


def test_reads_do_not_wait_for_a_writer(sqlite_app):
    """GET requests keep deferred transactions: with WAL they read while a writer holds the lock."""
    import sqlite3
    import time

    path = sqlite_app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with sqlite_app.test_request_context("/", method="GET"):
            started = time.monotonic()
            assert db.session.scalar(text("SELECT count(*) FROM community")) == 0
            waited = time.monotonic() - started
            db.session.rollback()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert waited < 5  # a write lock taken by the GET would wait the full busy timeout (15 s)


def test_deferred_transactions_would_fail_without_the_write_lock(tmp_path):
    """The control for the test above: the same pattern on a plain deferred connection does
    hit "database is locked", so the test above would catch a regression."""
    import sqlite3

    path = tmp_path / "plain.sqlite"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (x)")
    setup.commit()
    setup.close()
    a = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    b = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    a.execute("BEGIN")
    b.execute("BEGIN")
    a.execute("SELECT count(*) FROM t").fetchall()
    b.execute("SELECT count(*) FROM t").fetchall()
    a.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        b.execute("INSERT INTO t VALUES (2)")
    a.execute("COMMIT")
    a.close()
    b.close()
