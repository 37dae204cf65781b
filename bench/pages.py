"""Page speed at data sizes: how the key pages answer as a community grows.

For each size N (default 1,000, 10,000 and 100,000) the run:

1. creates a fresh SQLite file, applies the migrations and seeds it in bulk (`seed`): one
   community of N verified residents (one household each), a planner, a consultation whose vote
   runs now, N proposals (evaluating or shortlisted, about five supports each), and an open
   approval ballot over ten shortlisted proposals in which all N residents have voted; plus
   `--voters` residents who have not voted yet;
2. starts gunicorn (2 workers) on it, signs in a resident and the planner, and times each key
   page over sequential requests after a warm-up (median and p95, ms). The number of SQL
   statements per page comes from a separate pass with LINLI_COUNT_QUERIES=1, read from the
   `X-Queries` answer header (null where the app does not send it); the timings come from a
   server started without it;
3. reads the peak memory of each gunicorn worker (VmHWM) after the pages;
4. measures throughput with wrk (or a threaded Python client): the signed-in proposal list, a
   bare Flask endpoint (bench/bare.py) under the same gunicorn settings, and the signed-out
   community home and proposal list, interleaved over a few rounds;
5. has the residents who have not voted yet vote all at once and reports ballots per second,
   the answers that were not a 303, and whether the database holds exactly one vote each.

    .venv/bin/python bench/pages.py --sizes 1000,100000 --out bench/results/FILE.json

Seeding is kept in one function, `seed(engine, n)`. It reads the columns of the migrated
tables, so it keeps working while the schema changes: `proposal.community_id` and
`proposal.support_count` are filled when they exist, and any other new NOT NULL column needs
a server default (or a line in `seed`; the run stops saying which column).
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import yaml
from sqlalchemy import MetaData, create_engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))
from concurrent_votes import PASSWORD, all_at_once, sign_in  # noqa: E402  (same browsers)
from concurrent_writes import NoRedirect, free_port  # noqa: E402  (same server helpers)

from participation.clock import utcnow  # noqa: E402
from participation.config import Defaults  # noqa: E402
from participation.security import hash_password  # noqa: E402

SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789"
WORKERS = 2
CHUNK = 10_000  # rows per executemany
BUILDINGS = 30
BALLOT_OPTIONS = 10
MAX_CHOICES = 3
# Columns the schema is gaining; filled when the migrated table has them.
OPTIONAL_COLUMNS = {"proposal": ("community_id", "support_count")}

IDEAS = [
    ("在{b}号楼旁加装长椅", "{b}号楼南侧"),
    ("{b}号楼门口增设无障碍坡道", "{b}号楼门口"),
    ("{b}号楼架空层改成老人活动室", "{b}号楼架空层"),
    ("给{b}号楼后空地装路灯", "{b}号楼后空地"),
    ("{b}号楼旁的绿地种社区花园", "{b}号楼东侧绿地"),
    ("在{b}号楼附近加一个快递柜", "{b}号楼北侧"),
    ("{b}号楼前设电动自行车充电桩", "{b}号楼前停车区"),
    ("给{b}号楼边的儿童滑梯换软垫", "{b}号楼西侧游乐场"),
]


# --- seeding ----------------------------------------------------------------------------------


@dataclass
class Seeded:
    """What the measurements need to know about the seeded community."""

    community: int
    ballot: int
    options: list[int]
    proposal: int  # a shortlisted proposal, on the ballot, with supports
    proposals: int  # visible in the list
    resident: str  # login of a resident who has voted
    planner: str
    voters: list[str] = field(default_factory=list)  # logins of residents yet to vote
    voter_ids: list[int] = field(default_factory=list)


def categories() -> list[str]:
    """The complete-community checklist item ids, and "other"."""
    data = yaml.safe_load((ROOT / "participation/data/complete-community.yaml").read_text())
    return [item["id"] for item in data["items"]] + ["other"]


def bulk_insert(conn, table, rows) -> int:
    """Insert rows (dicts) with executemany, CHUNK at a time; returns how many.

    Keys of OPTIONAL_COLUMNS are dropped when the migrated table lacks them, and a NOT NULL
    column without a server default that the rows leave out stops the run, naming it."""
    optional = [c for c in OPTIONAL_COLUMNS.get(table.name, ()) if c not in table.c]
    checked, total, batch = False, 0, []

    def flush():
        nonlocal total
        if batch:
            conn.execute(insert(table), batch)
            total += len(batch)
            batch.clear()

    for row in rows:
        for key in optional:
            row.pop(key, None)
        if not checked:
            missing = [c.name for c in table.columns if not c.nullable and c.name not in row
                       and c.server_default is None]
            if missing:
                raise RuntimeError(f"{table.name}: NOT NULL columns without a default that "
                                   f"seed() does not fill: {', '.join(missing)}")
            checked = True
        batch.append(row)
        if len(batch) >= CHUNK:
            flush()
    flush()
    return total


def seed(engine, n: int, voters: int = 1000, rng_seed: int = 1) -> Seeded:
    """Fill a freshly migrated database in bulk (SQLAlchemy Core, executemany), ids assigned
    here. See the module docstring for what is created."""
    rng = random.Random(rng_seed)
    meta = MetaData()
    meta.reflect(bind=engine)
    t = meta.tables
    now = utcnow().replace(microsecond=0)
    password = hash_password(PASSWORD)  # one slow hash for everybody: the accounts are alike
    community_id, consultation_id, ballot_id, planner_id = 1, 1, 1, 1
    people = n + voters  # residents: the first n vote in the seed, the others in the run
    resident_ids = range(2, 2 + people)  # user id of resident i is i + 2, household i + 1
    phases = [("collect", -40, -10), ("deliberate", -10, -1), ("vote", -1, 6),
              ("results", 6, 20)]
    vote_phase, vote_start = 3, now - timedelta(days=1)
    cats = categories()

    with engine.begin() as conn:
        bulk_insert(conn, t["community"], [{
            "id": community_id, "name": f"基准小区 {n}", "district": "厦门市思明区",
            "street": "筼筜街道", "committee_name": "基准小区居委会", "household_count": people,
            "created_at": now}])
        bulk_insert(conn, t["household"], ({
            "id": i + 1, "community_id": community_id, "building": str(1 + i % BUILDINGS),
            "unit": str(1 + i // BUILDINGS % 4), "room": str(101 + i // (BUILDINGS * 4)),
            "floor_area": Decimal("89.50"), "resident_names": None, "created_at": now}
            for i in range(people)))
        bulk_insert(conn, t["user"], [{
            "id": planner_id, "display_name": "规划师", "email": "planner@bench.example",
            "phone": None, "password_hash": password, "locale": None, "large_text": False,
            "is_admin": False, "current_community_id": community_id, "created_at": now}])
        bulk_insert(conn, t["user"], ({
            "id": uid, "display_name": f"居民{i}", "email": None, "phone": f"136{i:08d}",
            "password_hash": password, "locale": None, "large_text": False, "is_admin": False,
            "current_community_id": community_id, "created_at": now}
            for i, uid in enumerate(resident_ids)))
        bulk_insert(conn, t["membership"], ({
            "id": uid, "user_id": uid, "community_id": community_id,
            "role": "planner" if uid == planner_id else "verified",
            "household_id": None if uid == planner_id else uid - 1,
            "verified_at": now, "created_at": now}
            for uid in [planner_id, *resident_ids]))

        bulk_insert(conn, t["consultation"], [{
            "id": consultation_id, "community_id": community_id, "template": "micro_space",
            "title": "楼栋周边微改造", "description": "居民提出改造建议，规划师筛选后投票。",
            "sites": None, "cover": None, "created_by_id": planner_id, "created_at": now}])
        bulk_insert(conn, t["phase"], [{
            "id": i + 1, "consultation_id": consultation_id, "kind": kind,
            "starts_at": now + timedelta(days=start), "ends_at": now + timedelta(days=end),
            "announced_at": now + timedelta(days=start) if start < 0 else None}
            for i, (kind, start, end) in enumerate(phases)])

        # Every fourth proposal shortlisted; authors and supporters among the n residents.
        supports = {}
        proposal_rows = []
        for p in range(1, n + 1):
            author = 2 + rng.randrange(n)
            backers = [2 + r for r in rng.sample(range(n), min(n, 11))
                       if 2 + r != author][:rng.randint(0, 10)]
            supports[p] = backers
            idea, site = IDEAS[p % len(IDEAS)]
            b = 1 + rng.randrange(BUILDINGS)
            proposal_rows.append({
                "id": p, "consultation_id": consultation_id, "community_id": community_id,
                "author_id": author, "title": f"{idea.format(b=b)} #{p}",
                "description": "现在这里没有地方坐，老人散步走累了只能站着。建议加装几张带靠背的长椅。",
                "category": cats[p % len(cats)], "site": site.format(b=b),
                "estimated_cost": Decimal(1000 * (1 + p % 50)),
                "status": "accepted" if p % 4 == 1 else "evaluating", "reason": None,
                "merged_into_id": None, "created_at": now - timedelta(days=30),
                "submitted_at": now - timedelta(days=30) + timedelta(seconds=p),
                "support_count": len(backers)})
        bulk_insert(conn, t["proposal"], proposal_rows)
        del proposal_rows
        bulk_insert(conn, t["support"], ({
            "proposal_id": p, "user_id": uid, "created_at": now - timedelta(days=20)}
            for p, backers in supports.items() for uid in backers))

        shortlisted = list(range(1, n + 1, 4))[:BALLOT_OPTIONS]
        bulk_insert(conn, t["ballot"], [{
            "id": ballot_id, "consultation_id": consultation_id, "phase_id": vote_phase,
            "title": "楼栋周边微改造：选出最多三项", "method": "approval",
            "max_choices": MAX_CHOICES, "budget": None, "eligibility": "resident",
            "secrecy": "open", "preset": "advisory", "quorum_pct": None,
            "threshold_pct": None, "results_live": True, "created_by_id": planner_id,
            "created_at": now - timedelta(days=2), "shuffled_at": None, "sealed_at": None,
            "register_taken_at": vote_start}])
        bulk_insert(conn, t["ballot_option"], [{
            "id": i + 1, "ballot_id": ballot_id, "proposal_id": pid, "position": i,
            "cost": None} for i, pid in enumerate(shortlisted)])
        options = list(range(1, len(shortlisted) + 1))
        # The register of voters, taken as voting opened: every verified resident.
        bulk_insert(conn, t["ballot_register"], ({
            "id": uid, "ballot_id": ballot_id, "voter_key": f"u{uid}", "user_id": uid,
            "household_id": uid - 1, "floor_area": Decimal("89.50"), "added_late_by_id": None,
            "created_at": vote_start} for uid in resident_ids))
        # The first n residents have voted online: a voter row, a paper naming it, its marks.
        voted = list(resident_ids)[:n]
        bulk_insert(conn, t["ballot_voter"], ({
            "id": uid, "ballot_id": ballot_id, "voter_key": f"u{uid}", "user_id": uid,
            "household_id": uid - 1, "channel": "online", "batch_id": None,
            "cast_at": vote_start + timedelta(seconds=uid), "changed_at": None}
            for uid in voted))
        papers = {uid: f"{rng.getrandbits(128):032x}" for uid in voted}
        bulk_insert(conn, t["ballot_paper"], ({
            "id": papers[uid], "ballot_id": ballot_id, "secret": False, "voter_id": uid,
            "channel": "online"} for uid in voted))
        bulk_insert(conn, t["ballot_mark"], ({"paper_id": papers[uid], "option_id": o}
                                             for uid in voted
                                             for o in rng.sample(options,
                                                                 rng.randint(1, MAX_CHOICES))))
    yet_to_vote = list(resident_ids)[n:]
    return Seeded(community=community_id, ballot=ballot_id, options=options,
                  proposal=shortlisted[len(shortlisted) // 2], proposals=n,
                  resident="13600000000", planner="planner@bench.example",
                  voters=[f"136{uid - 2:08d}" for uid in yet_to_vote], voter_ids=yet_to_vote)


def migrate(url: str) -> None:
    subprocess.run([Path(sys.executable).parent / "flask", "--app", "app", "db", "upgrade"],
                   cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, check=True,
                   capture_output=True)
