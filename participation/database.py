"""SQLite connection settings: WAL, foreign keys, busy timeout and write locks taken up front."""
from __future__ import annotations

import fcntl
import functools
import os
import re
import sqlite3
import time

from flask import current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .extensions import db

SQLITE_BUSY_TIMEOUT_MS = 15000
READ_ONLY_METHODS = {"GET", "HEAD", "OPTIONS"}
WRITER_POLL_S = 0.0005


class QueuedWriter(sqlite3.Connection):
    """A SQLite connection whose writers take turns through a lock file beside the database
    (`<file>-writer`, flock), handed on the moment the last writer commits or rolls back.

    SQLite alone makes a writer that finds the file locked sleep and retry, for ever longer
    sleeps (up to 100 ms each): with several server processes voting at once most of the time
    goes to sleeping. Here a writer waits on the lock file instead, polling it every half
    millisecond, then takes SQLite's lock, which is free by then. Every open connection has its
    own lock-file handle, so threads of one process queue too. After the busy timeout the writer
    goes ahead and SQLite's own wait decides."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        name = os.fspath(database)
        memory = name in ("", ":memory:") or name.startswith("file::memory:") \
            or "mode=memory" in name
        self._writer_path = None if memory else name.removeprefix("file:").split("?")[0] \
            + "-writer"
        self._writer_fd: int | None = None
        self._writer_turn = False

    def wait_for_writer_turn(self) -> None:
        if self._writer_path is None or self._writer_turn:
            return
        if self._writer_fd is None:
            self._writer_fd = os.open(self._writer_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                fcntl.flock(self._writer_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return
                time.sleep(WRITER_POLL_S)
            else:
                self._writer_turn = True
                return

    def _end_writer_turn(self) -> None:
        if self._writer_turn:
            self._writer_turn = False
            fcntl.flock(self._writer_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._end_writer_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._end_writer_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._end_writer_turn()
            if self._writer_fd is not None:
                os.close(self._writer_fd)
                self._writer_fd = None


def _begin_immediate(connection) -> None:
    dbapi = connection.connection.dbapi_connection
    if isinstance(dbapi, QueuedWriter):
        dbapi.wait_for_writer_turn()
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # pysqlite's own transaction handling is switched off so that `_begin` below decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted content is overwritten with zeros, not left in the page or on the freelist: what a
    # secret ballot's rewrite removes must be gone from a copy of the file (see
    # proposals/ballots/secrecy.py).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin(connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    # A request that may write takes the write lock when its transaction starts, so two writers
    # queue on the busy timeout instead of failing later with "database is locked" when a read
    # lock cannot be upgraded. Reads (GET) keep a deferred transaction and run concurrently.
    # Once a request's writes are committed (see `commit_writes`), what it still reads to render
    # its answer needs no lock either; a view that reads and checks first (`reads_first`) takes
    # the lock only where its writes begin (`begin_writes`).
    if has_request_context() and (request.method in READ_ONLY_METHODS
                                  or g.get("linli_writes_committed") or _reads_first()):
        connection.exec_driver_sql("BEGIN")
    else:
        _begin_immediate(connection)


def _reads_first() -> bool:
    if g.get("linli_writing"):
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "linli_reads_first", False):
        return False
    g.linli_reading = True
    return True


def reads_first(view):
    """Mark a writing view whose loading and checking come before all its writes: its
    transaction starts without SQLite's write lock, which `begin_writes()` takes where the
    writes begin, so other writers wait only for the writes themselves."""
    view.linli_reads_first = True
    return view


def begin_writes() -> None:
    """Where a `reads_first` view starts writing: the reading transaction ends and one holding
    the write lock begins (waiting its turn on the busy timeout). What the view loaded before
    may have changed since, as on PostgreSQL, where every statement sees the latest commits:
    the operation that follows reads afresh, under its locks, whatever its writes depend on."""
    if not (has_request_context() and g.pop("linli_reading", False)):
        return
    g.linli_writing = True
    connection = db.session.connection()
    connection.exec_driver_sql("COMMIT")
    _begin_immediate(connection)


def insert_unless_exists(obj) -> bool:
    """Add `obj`; False when a unique constraint shows a concurrent request already added it.

    The savepoint keeps the rest of the request's transaction intact either way.
    """
    # Added inside the savepoint: begin_nested() first flushes what is pending, and a failing
    # INSERT flushed there would roll back the whole request's transaction.
    try:
        with db.session.begin_nested():
            db.session.add(obj)
            db.session.flush()
    except IntegrityError:
        return False
    return True


def insert_unless_exists_returning_id(model, unique: list[str], values: dict) -> int | None:
    """Insert one row of `model` and return its id; None when a row with the same `unique`
    columns exists already (committed, or committed meanwhile by a concurrent request). One
    statement, INSERT ... ON CONFLICT DO NOTHING RETURNING, on SQLite and PostgreSQL alike: no
    savepoint and no unit of work, for the paths that run at every click of a crowd (a vote)."""
    statement = _insert_unless_exists(model.__table__, tuple(unique),
                                      db.session.get_bind().dialect.name)
    return db.session.scalar(statement, values)


@functools.cache
def _insert_unless_exists(table, unique: tuple[str, ...], dialect: str):
    # A plain table insert (the ORM's bulk machinery costs more), built once; the values come
    # as the statement's parameters.
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return build(table).on_conflict_do_nothing(index_elements=list(unique)) \
        .returning(table.c.id)


def commit_writes() -> None:
    """Commit a successful writing request's changes before its answer is rendered, so the
    write lock (SQLite's, held by the whole file) is not held while the template renders.
    The loaded objects stay as they are: rendering reads them without reloading each one."""
    if not has_request_context() or request.method in READ_ONLY_METHODS:
        return
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    g.linli_writes_committed = True


# The full-text indexes (participation/search.py) are made by the migrations alone, no model
# stands for them: SQLite FTS5 virtual tables with their shadow tables, kept by triggers, and
# PostgreSQL GIN indexes named ix_..._search.
FULL_TEXT_TABLE = re.compile(r".+_fts(_(data|idx|docsize|config|content))?")
FULL_TEXT_INDEX = re.compile(r"ix_.+_search")


def include_name(name, type_, parent_names) -> bool:
    """What comparing the models with the database looks at (Alembic's include_name)."""
    pattern = {"table": FULL_TEXT_TABLE, "index": FULL_TEXT_INDEX}.get(type_)
    return not (pattern and pattern.fullmatch(name or ""))
