"""Text search that finds Chinese words inside longer text (长椅 in 加装长椅) through the
database's own full-text index: SQLite FTS5 or PostgreSQL's tsvector with a GIN index.

Neither database splits Chinese into words, so text is indexed as its terms: every character and
every pair of neighbouring characters of a run of Chinese, and every word of other scripts. A
query matches the rows holding all of its terms (pairs for Chinese, so 长椅 looks for 长椅, not
for 长 and 椅 apart); the caller confirms the exact substring on those few rows.
"""
from __future__ import annotations

import re

from sqlalchemy import column, func, literal_column, select, table, true
from sqlalchemy.sql import ColumnElement

# Han ideographs (with extension A and compatibility forms), kana and hangul: scripts written
# without spaces between words.
_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_RUNS = re.compile(rf"[{_UNSPACED}]+|[^\W_{_UNSPACED}]+")
_IS_UNSPACED = re.compile(rf"[{_UNSPACED}]")
MAX_QUERY_TERMS = 12


def terms(*texts: str | None) -> str:
    """The space-separated terms under which a row's texts are indexed."""
    found: list[str] = []
    for value in texts:
        for run in _RUNS.findall((value or "").lower()):
            if _IS_UNSPACED.match(run):
                found.extend(run)
                found.extend(run[i:i + 2] for i in range(len(run) - 1))
            else:
                found.append(run)
    return " ".join(dict.fromkeys(found))


def query_terms(query: str) -> list[str]:
    """The terms a row must hold to contain `query`: pairs of Chinese characters (a single
    character alone), words of other scripts."""
    wanted: list[str] = []
    for run in _RUNS.findall(query.lower()):
        if _IS_UNSPACED.match(run) and len(run) > 1:
            wanted.extend(run[i:i + 2] for i in range(len(run) - 1))
        else:
            wanted.append(run)
    return list(dict.fromkeys(wanted))[:MAX_QUERY_TERMS]


def matches(dialect: str, row_id, indexed, fts_table: str, query: str) -> ColumnElement[bool]:
    """A condition true for the rows whose indexed terms hold every term of `query`: on SQLite
    through the FTS5 table `fts_table` (its rowids are `row_id`), on PostgreSQL through the GIN
    index on to_tsvector('simple', `indexed`). A query without a searchable term (punctuation
    only) matches every row: the caller's substring test decides."""
    wanted = query_terms(query)
    if not wanted:
        return true()
    if dialect == "sqlite":
        return row_id.in_(select(literal_column("rowid")).select_from(table(fts_table)).where(
            _fts_match(fts_table, wanted)))
    return _tsquery_match(indexed, wanted)


def newest_matching(dialect: str, stmt, row_id, indexed, fts_table: str, query: str):
    """`stmt` narrowed to the rows matching `query`, highest id first. On SQLite the rows are
    read from the full-text index in that order, so a LIMIT stops after the first few however
    many rows match."""
    wanted = query_terms(query)
    if dialect != "sqlite" or not wanted:
        return stmt.where(matches(dialect, row_id, indexed, fts_table, query)) \
            .order_by(row_id.desc())
    fts = table(fts_table, column("rowid"))
    return stmt.join(fts, fts.c.rowid == row_id).where(_fts_match(fts_table, wanted)) \
        .order_by(fts.c.rowid.desc())


def _fts_match(fts_table: str, wanted: list[str]) -> ColumnElement[bool]:
    # Each term quoted: FTS5 would read a bare AND, OR or NEAR as an operator.
    expression = " ".join('"' + term.replace('"', '""') + '"' for term in wanted)
    return literal_column(fts_table).op("MATCH")(expression)


def _tsquery_match(indexed, wanted: list[str]) -> ColumnElement[bool]:
    # Terms are letters and digits only (see _RUNS): nothing in them needs escaping.
    lexemes = " & ".join(f"'{term}'" for term in wanted)
    # 'simple' written out, not bound: the index is on this very expression.
    return func.to_tsvector(literal_column("'simple'"), indexed).op("@@")(
        func.to_tsquery(literal_column("'simple'"), lexemes))


def sqlite_triggers(table: str, fts_table: str, column: str = "search_terms") -> list[str]:
    """The triggers that keep an FTS5 table with external content (`table`'s `column`, rowids
    its ids) in step with the table, for the migrations. A migration that rebuilds `table`
    (Alembic's batch mode on SQLite) drops them and must create them again."""
    return [
        f"""CREATE TRIGGER {fts_table}_added AFTER INSERT ON {table} BEGIN
              INSERT INTO {fts_table}(rowid, {column}) VALUES (NEW.id, NEW.{column}); END""",
        f"""CREATE TRIGGER {fts_table}_removed AFTER DELETE ON {table} BEGIN
              INSERT INTO {fts_table}({fts_table}, rowid, {column})
              VALUES ('delete', OLD.id, OLD.{column}); END""",
        f"""CREATE TRIGGER {fts_table}_changed AFTER UPDATE OF {column} ON {table} BEGIN
              INSERT INTO {fts_table}({fts_table}, rowid, {column})
              VALUES ('delete', OLD.id, OLD.{column});
              INSERT INTO {fts_table}(rowid, {column}) VALUES (NEW.id, NEW.{column}); END""",
    ]
