"""A secret ballot stays secret to whoever holds a copy of the database.

Thirty-odd residents cast secret ballots, each with a choice nobody else makes, and the stored
data is attacked the way a copy allows: the order of rows on disk (SQLite's cells in the file,
PostgreSQL's ctid), transaction ids (PostgreSQL's xmin), the frames of SQLite's write-ahead log,
and deleted or freed storage. Each attack pairs the voters, in the order they voted, with papers
in the order the attack finds them, and counts how often the pairing names the voter's real
choice. By chance that is about one; the bar below is eight (a random pairing reaches it about
once in 100,000 tries).
"""
from __future__ import annotations

import itertools
import random
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from participation import clock
from participation.clock import utcnow
from participation.extensions import db
from proposals.ballots import secrecy
from tests.proposals.ballots.test_ballots import Vote

TITLES = [(f"方案{i}", 1000 * (i + 1)) for i in range(6)]
TABLES = ["ballot_paper", "ballot_mark"]
CHANCE = 8  # at most this many correct pairings counts as chance (expected: about 1)


def _patterns(n: int) -> list[tuple[int, ...]]:
    subsets = [c for k in range(1, 7) for c in itertools.combinations(range(6), k)]
    random.Random(278).shuffle(subsets)
    return subsets[:n]


class Election:
    def __init__(self, app, factory, voters: int):
        self.app = app
        self.v = Vote(app, factory, households=voters, area=Decimal("80"), titles=TITLES)
        self.v.setup(secrecy="secret", method="approval", max_choices="6")
        self.patterns = dict(zip([u.id for u in self.v.voters], _patterns(voters), strict=True))
        with app.app_context():
            if db.engine.dialect.name == "sqlite":  # the log starts empty: frames are this test's
                raw = db.engine.raw_connection()
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                raw.close()

    def cast(self, voters):
        for user in voters:
            choice = self.patterns[user.id]
            assert self.v.vote(self.v.client(user), *choice).status_code == 303

    def option_index(self) -> dict[int, int]:
        return {option_id: i for i, option_id in enumerate(self.v.options)}

    # --- what a copy of the database shows -----------------------------------------------

    def voters_in_order(self) -> list[tuple[int, int]]:
        """(user id, xmin or 0) of the ballot's voters, in the order they voted."""
        with self.app.app_context():
            xmin = "xmin::text::bigint" if db.engine.dialect.name == "postgresql" else "0"
            return [tuple(r) for r in db.session.execute(text(
                f"SELECT user_id, {xmin} FROM ballot_voter WHERE ballot_id = :b ORDER BY id"),
                {"b": self.v.ballot_id})]

    def papers(self) -> dict[str, tuple[int, ...]]:
        """Each paper's id and the choice it holds."""
        index = self.option_index()
        with self.app.app_context():
            rows = db.session.execute(text(
                "SELECT p.id, m.option_id FROM ballot_paper p LEFT JOIN ballot_mark m "
                "ON m.paper_id = p.id WHERE p.ballot_id = :b"), {"b": self.v.ballot_id})
            papers: dict[str, list[int]] = {}
            for paper_id, option_id in rows:
                papers.setdefault(paper_id, [])
                if option_id is not None:
                    papers[paper_id].append(index[option_id])
        return {p: tuple(sorted(c)) for p, c in papers.items()}

    def linked(self, paper_order: list[str]) -> int:
        """How many voters the pairing 'i-th voter cast the i-th paper' names correctly."""
        papers = self.papers()
        voters = [user_id for user_id, _ in self.voters_in_order()]
        return sum(self.patterns[user_id] == papers.get(paper_id)
                   for user_id, paper_id in zip(voters, paper_order, strict=False))

    def orders(self) -> dict[str, list[str]]:
        """The orders of papers that each attack on a copy finds."""
        papers = list(self.papers())
        with self.app.app_context():
            if db.engine.dialect.name == "sqlite":
                path = Path(db.engine.url.database)
                found = {"file": _offsets(path.read_bytes(), papers),
                         "wal": _offsets(_read(path.with_name(path.name + "-wal")), papers)}
                found["select"] = [r[0] for r in db.session.execute(text(
                    "SELECT id FROM ballot_paper WHERE ballot_id = :b"),
                    {"b": self.v.ballot_id})]
                return found
            rows = db.session.execute(text(
                "SELECT id, ctid::text, xmin::text::bigint FROM ballot_paper "
                "WHERE ballot_id = :b"), {"b": self.v.ballot_id}).all()
            ctid = lambda r: tuple(int(x) for x in r[1].strip("()").split(","))  # noqa: E731
            return {"select": [r[0] for r in rows],
                    "ctid": [r[0] for r in sorted(rows, key=ctid)],
                    "xmin": [r[0] for r in sorted(rows, key=lambda r: (r[2], ctid(r)))]}

    def linked_by_transaction(self) -> int:
        """PostgreSQL: a paper written by the voter row's transaction (or its savepoint, whose
        id is the next one) is that voter's: pair each voter with the one paper whose xmin is
        within a few ids of theirs."""
        with self.app.app_context():
            if db.engine.dialect.name != "postgresql":
                return 0
            rows = db.session.execute(text(
                "SELECT id, xmin::text::bigint FROM ballot_paper WHERE ballot_id = :b"),
                {"b": self.v.ballot_id}).all()
        papers = self.papers()
        linked = 0
        for user_id, xmin in self.voters_in_order():
            near = [paper_id for paper_id, paper_xmin in rows if abs(paper_xmin - xmin) <= 3]
            linked += len(near) == 1 and papers[near[0]] == self.patterns[user_id]
        return linked

    def worst(self) -> tuple[int, str]:
        """The most voters any attack links, and which attack."""
        found = [(self.linked(order), name) for name, order in self.orders().items()]
        found.append((self.linked_by_transaction(), "transaction ids"))
        return max(found)

    def leftovers(self, old_ids: set[str]) -> int:
        """How many of the given (rewritten) paper ids storage still holds anywhere."""
        with self.app.app_context():
            if db.engine.dialect.name == "sqlite":
                path = Path(db.engine.url.database)
                data = path.read_bytes() + _read(path.with_name(path.name + "-wal"))
            else:  # the tables' files now, and those they had when the vote was cast
                data = _postgres_files(_postgres_paths(TABLES) + self.files_before)
                if data is None:
                    pytest.skip("PostgreSQL's files cannot be read from here")
        return sum(paper_id.encode() in data for paper_id in old_ids)

    def remember_files(self):
        with self.app.app_context():
            self.files_before = (_postgres_paths(TABLES)
                                 if db.engine.dialect.name == "postgresql" else [])

    def maintain(self, now):
        with self.app.app_context():
            return secrecy.maintain(now)


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def _offsets(data: bytes, papers: list[str]) -> list[str]:
    """Papers in the order their ids first appear in the bytes."""
    where = {p: data.find(p.encode()) for p in papers}
    return [p for p in sorted(where, key=where.get) if where[p] >= 0]


def _postgres_paths(tables: list[str]) -> list[Path]:
    root = Path(db.session.scalar(text("SHOW data_directory")))
    return [root / db.session.scalar(text("SELECT pg_relation_filepath(:t)"), {"t": t})
            for t in tables]


def _postgres_files(paths: list[Path]) -> bytes | None:
    """These files of PostgreSQL's (a table's, with its free space and visibility maps) as they
    are on disk, where this process may read them; None where it may not."""
    db.session.execute(text("CHECKPOINT"))
    data = b""
    for path in paths:
        try:
            data += b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))
        except PermissionError:
            return None
    return data


def test_a_closed_secret_ballot_links_no_voter_to_a_choice(app, factory):
    election = Election(app, factory, voters=30)
    election.cast(election.v.voters)
    # The attacks work: on the stored data as it was written, they link the voters.
    assert election.worst()[0] >= 25, election.worst()
    before = set(election.papers())
    election.remember_files()

    # The vote closes (and the days for paper ballots pass): sealing rewrites the papers.
    later = utcnow() + timedelta(days=10)
    assert election.maintain(later) == (0, 1)
    assert election.worst()[0] <= CHANCE, election.worst()
    assert election.leftovers(before) == 0
    assert sorted(election.papers().values()) == sorted(election.patterns.values())
    # Sealed once: a second run leaves the ballot alone, and the results still add up.
    assert election.maintain(later) == (0, 0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", lambda: later)
        page = election.v.results()
    counts = [sum(i in choice for choice in election.patterns.values()) for i in range(6)]
    for (title, _), count in zip(TITLES, counts, strict=True):
        assert re.search(re.escape(title) + r"</a></th>\s*<td[^>]*>%d</td>" % count, page), title


def test_during_the_vote_only_ballots_since_the_last_shuffle_can_be_linked(app, factory):
    election = Election(app, factory, voters=36)
    early, late = election.v.voters[:30], election.v.voters[30:]
    election.cast(early)
    assert election.maintain(utcnow()) == (1, 0)
    shuffled = set(election.papers())
    assert election.worst()[0] <= CHANCE
    election.cast(late)
    # A copy taken now can link at most the six ballots cast since the shuffle.
    worst, attack = election.worst()
    assert worst <= len(late) + CHANCE, attack
    linked_early = max(election.linked(order[:len(early)])
                       for order in election.orders().values()
                       if set(order[:len(early)]) <= shuffled)
    assert linked_early <= CHANCE
    # Nothing new since: the next run does not rewrite again; new votes make it do so.
    assert election.maintain(utcnow()) == (1, 0)
    assert election.maintain(utcnow()) == (0, 0)
    assert election.worst()[0] <= CHANCE


def test_the_cron_command_shuffles_and_seals(app, factory, runner):
    election = Election(app, factory, voters=3)
    assert "0 secret ballot(s) shuffled, 0 sealed." in runner.invoke(args=["ballot-upkeep"]).output
    election.cast(election.v.voters)
    assert "1 secret ballot(s) shuffled, 0 sealed." in runner.invoke(args=["ballot-upkeep"]).output
    later = utcnow() + timedelta(days=10)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", lambda: later)
        assert "0 secret ballot(s) shuffled, 1 sealed." in runner.invoke(
            args=["ballot-upkeep"]).output
        assert "0 sealed." in runner.invoke(args=["ballot-upkeep"]).output
