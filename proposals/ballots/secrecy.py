"""Keeping a secret ballot secret from whoever holds a copy of the database.

A secret paper names no voter, but storage remembers the order things were written in: the
position of rows on disk (PostgreSQL's ctid, SQLite's cells in their pages), PostgreSQL's
transaction ids (a paper and its voter are written by one transaction), old row versions and
freed pages, and SQLite's write-ahead log, whose frames replay the vote cast by cast. Paired
with the order of the voters, any of these links voters to what they chose.

So the papers are rewritten, while the vote runs and once more when it is over: all of a
ballot's secret papers and their marks are read, deleted and written again with new random ids,
in a random order, by one transaction, and the old storage is cleared (PostgreSQL: the two
tables are emptied with TRUNCATE, which gives them new files, and written again; SQLite: deleted
content is zeroed as it is deleted, the write-ahead log is checkpointed and truncated, and at the
close the whole file is rebuilt with VACUUM). After a rewrite, a copy links no voter to a choice better than chance;
only the ballots cast since the last rewrite can be told apart. `flask --app app ballot-upkeep`,
run from cron, rewrites every running secret ballot that received votes since its last rewrite
and seals every closed one.

What this cannot hide is an observer who watches the server write by write (who can read each
transaction as it commits, or archives PostgreSQL's write-ahead log): that is no copy but a
wiretap.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import joinedload

from participation import clock
from participation.extensions import db

from .models import Ballot, BallotMark, BallotPaper, BallotVoter
from .operations import results_from

_random = secrets.SystemRandom()


def _rows(stmt) -> list[dict]:
    return [dict(row._mapping) for row in db.session.execute(stmt)]


def _shuffled(papers: list[dict], marks: dict[str, list[int]]) -> tuple[list, list]:
    """The papers' contents in a random order under new random ids, as rows to insert."""
    contents = [sorted(marks.get(p["id"], [])) for p in papers]
    _random.shuffle(contents)
    new_papers, new_marks = [], []
    for paper, options in zip(papers, contents, strict=True):
        paper_id = secrets.token_hex(16)
        new_papers.append({**paper, "id": paper_id})
        new_marks += [{"paper_id": paper_id, "option_id": o} for o in options]
    return new_papers, new_marks


def rewrite(ballots: list[Ballot]) -> None:
    """Rewrite these ballots' secret papers and marks in a random order with new ids, in the
    current transaction. Votes wait meanwhile.

    SQLite zeroes the rows it deletes (secure_delete), so deleting and inserting the ballot's
    papers is enough. PostgreSQL keeps deleted row versions until no transaction anywhere could
    still see them, which one long query in any database can put off indefinitely; so there
    both tables are emptied with TRUNCATE, which gives them new files at once, and every row is
    written again (the other ballots' papers as they were)."""
    ids = sorted(b.id for b in ballots)
    db.session.execute(select(Ballot.id).where(Ballot.id.in_(ids)).with_for_update())
    postgres = db.engine.dialect.name == "postgresql"
    chosen = BallotPaper.ballot_id.in_(ids) & BallotPaper.secret.is_(True)
    if postgres:
        db.session.execute(text("LOCK TABLE ballot_paper, ballot_mark IN ACCESS EXCLUSIVE MODE"))
    read = select(BallotPaper.__table__)
    marked = select(BallotMark.paper_id, BallotMark.option_id)
    if not postgres:  # on SQLite only the chosen ballots' papers are rewritten
        read = read.where(chosen)
        marked = marked.join(BallotPaper, BallotPaper.id == BallotMark.paper_id).where(chosen)
    papers = _rows(read)
    marks: dict[str, list[int]] = {}
    for paper_id, option_id in db.session.execute(marked):
        marks.setdefault(paper_id, []).append(option_id)
    if postgres:
        db.session.execute(text("TRUNCATE ballot_mark, ballot_paper"))
    else:
        old = select(BallotPaper.id).where(chosen)
        db.session.execute(delete(BallotMark).where(BallotMark.paper_id.in_(old))
                           .execution_options(synchronize_session=False))
        db.session.execute(delete(BallotPaper).where(chosen)
                           .execution_options(synchronize_session=False))
    shuffle = [p for p in papers if p["secret"] and p["ballot_id"] in ids]
    new_papers = [p for p in papers if not (p["secret"] and p["ballot_id"] in ids)]
    new_marks = [{"paper_id": p["id"], "option_id": o}
                 for p in new_papers for o in marks.get(p["id"], [])]
    for ballot_id in ids:
        group, group_marks = _shuffled([p for p in shuffle if p["ballot_id"] == ballot_id],
                                       marks)
        new_papers += group
        new_marks += group_marks
    if new_papers:
        db.session.execute(insert(BallotPaper), new_papers)
    if new_marks:
        db.session.execute(insert(BallotMark), new_marks)


class StorageBusy(RuntimeError):
    """SQLite's log could not be emptied: a reader kept it. The next run tries again."""


def clear_old_storage(rebuild: bool) -> None:
    """SQLite: drop what the file and its write-ahead log still remember of rewritten rows
    (log frames; with `rebuild`, every freed page: VACUUM writes the file anew). Runs outside
    any transaction. PostgreSQL needs nothing more: TRUNCATE gave the tables new files."""
    db.session.close()
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        if rebuild:
            raw.driver_connection.execute("VACUUM")
        busy, _, _ = raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.close()
    if busy:
        raise StorageBusy("the write-ahead log is in use; run ballot-upkeep again")


def maintain(now: datetime) -> tuple[int, int]:
    """Rewrite running secret ballots that got votes since their last rewrite, seal closed
    ones; returns (rewritten, sealed). A ballot counts as sealed only once the old storage is
    cleared, so a run that could not clear it is simply repeated by the next."""
    ballots = db.session.scalars(
        select(Ballot).where(Ballot.secrecy == "secret", Ballot.sealed_at.is_(None))
        .options(joinedload(Ballot.phase))).all()
    due, closing = [], []
    for ballot in ballots:
        if now < ballot.phase.starts_at:
            continue
        if now >= results_from(ballot):
            closing.append(ballot.id)
        elif not db.session.scalar(select(func.count()).select_from(BallotVoter).where(
                BallotVoter.ballot_id == ballot.id,
                BallotVoter.cast_at >= (ballot.shuffled_at or ballot.phase.starts_at))):
            continue
        ballot.shuffled_at = clock.utcnow()
        due.append(ballot)
    running = any(now >= b.phase.starts_at for b in ballots)
    if due:
        rewrite(due)
    db.session.commit()
    if running:
        clear_old_storage(rebuild=bool(closing))
    if closing:
        db.session.execute(update(Ballot).where(Ballot.id.in_(closing))
                           .values(sealed_at=clock.utcnow()))
        db.session.commit()
    return len(due) - len(closing), len(closing)
