"""A vote takes SQLite's write lock only for its writes: loading and checking come first."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event, func, select

from participation.extensions import db
from proposals.ballots.models import BallotVoter
from tests.conftest import csrf_from
from tests.proposals.ballots.test_ballots import Vote


def test_a_vote_holds_the_write_lock_only_for_its_writes(app, factory):
    """Loading the ballot and checking the voter happen before the write lock is taken, so
    another voter's writes need not wait for them (SQLite locks the whole file)."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's file-wide write lock")
        engine, path = db.engine, db.engine.url.database
    vote = Vote(app, factory)
    vote.setup(preset="advisory")
    client = vote.client(vote.voters[0])
    client.get(vote.url)
    seen: list[tuple[str, bool]] = []

    def another_writer_may_write(_conn, _cursor, statement, *args):
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            free = True
        except sqlite3.OperationalError:
            free = False
        finally:
            other.close()
        seen.append((statement, free))

    token = csrf_from(client.get(vote.url).get_data(as_text=True))
    event.listen(engine, "before_cursor_execute", another_writer_may_write)
    try:
        response = client.post(vote.url + "/vote", data={
            "csrf_token": token, "option": [str(vote.options[0])]})
    finally:
        event.remove(engine, "before_cursor_execute", another_writer_may_write)
    assert response.status_code == 303
    statements = [statement for statement, _ in seen]
    locked_from = statements.index("BEGIN IMMEDIATE")
    # The voter with their memberships, and the ballot with its phase, are loaded and checked
    # with the lock free ...
    reads = [free for statement, free in seen[:locked_from] if statement.startswith("SELECT")]
    assert len(reads) >= 2 and all(reads), seen
    assert any("FROM ballot" in s for s in statements[:locked_from]), statements
    assert statements[0] == "BEGIN"
    # ... and the lock is taken before the first write, which needs it.
    first_write = next(i for i, s in enumerate(statements) if s.startswith(("INSERT", "UPDATE")))
    assert locked_from < first_write
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BallotVoter)) == 1
