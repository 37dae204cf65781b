"""Page speed at data sizes: how the key pages answer as a community grows.

For each size N (default 1,000, 10,000 and 100,000) the run:

1. creates a fresh SQLite file, applies the migrations and seeds it in bulk (`seed`): one
   community of N verified residents (one household each), a planner, a consultation whose vote
   runs now, N proposals (evaluating or shortlisted, about five supports each), an open
   approval ballot over ten shortlisted proposals in which all N residents have voted, the same
   again as a closed ballot of an earlier consultation (voting and paper entry over); plus
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
tables: a new NOT NULL column needs a server default or a line in `seed` (the run stops
saying which column).
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
import socket
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
from concurrent_votes import PASSWORD, sign_in  # noqa: E402  (same browsers)
from concurrent_writes import NoRedirect, free_port  # noqa: E402  (same server helpers)

from participation.clock import utcnow  # noqa: E402
from participation.config import Defaults  # noqa: E402
from participation.search import terms  # noqa: E402
from participation.security import hash_password  # noqa: E402

SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789"
WORKERS = 2
CHUNK = 10_000  # rows per executemany
BUILDINGS = 30
BALLOT_OPTIONS = 10
MAX_CHOICES = 3

DESCRIPTION = "现在这里没有地方坐，老人散步走累了只能站着。建议加装几张带靠背的长椅。"
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
    ballot: int  # open, voting now, results live
    closed_ballot: int  # voting and paper entry over, results final
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

    A NOT NULL column without a server default that the rows leave out stops the run, naming
    it."""
    checked, total, batch = False, 0, []

    def flush():
        nonlocal total
        if batch:
            conn.execute(insert(table), batch)
            total += len(batch)
            batch.clear()

    for row in rows:
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
            title, site = f"{idea.format(b=b)} #{p}", site.format(b=b)
            proposal_rows.append({
                "id": p, "consultation_id": consultation_id, "community_id": community_id,
                "author_id": author, "title": title, "description": DESCRIPTION,
                "search_terms": terms(title, site, DESCRIPTION),
                "category": cats[p % len(cats)], "site": site,
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
        voted = list(resident_ids)[:n]
        # The open ballot: voting runs now, its results shown live.
        options = seed_ballot(conn, t, rng, ballot_id, consultation_id, vote_phase, vote_start,
                              shortlisted, resident_ids, voted, planner_id)
        # A closed ballot: voting and paper entry ended weeks ago, its results final.
        closed_phases = [("collect", -90, -60), ("vote", -60, -45)]
        bulk_insert(conn, t["consultation"], [{
            "id": consultation_id + 1, "community_id": community_id, "template": "micro_space",
            "title": "去年的微改造投票", "description": "已结束的投票。", "sites": None,
            "cover": None, "created_by_id": planner_id, "created_at": now - timedelta(days=90)}])
        bulk_insert(conn, t["phase"], [{
            "id": len(phases) + i + 1, "consultation_id": consultation_id + 1, "kind": kind,
            "starts_at": now + timedelta(days=start), "ends_at": now + timedelta(days=end),
            "announced_at": now + timedelta(days=start)}
            for i, (kind, start, end) in enumerate(closed_phases)])
        seed_ballot(conn, t, rng, ballot_id + 1, consultation_id + 1, len(phases) + 2,
                    now - timedelta(days=60), shortlisted, resident_ids, voted, planner_id)
    yet_to_vote = list(resident_ids)[n:]
    return Seeded(community=community_id, ballot=ballot_id, closed_ballot=ballot_id + 1,
                  options=options,
                  proposal=shortlisted[len(shortlisted) // 2], proposals=n,
                  resident="13600000000", planner="planner@bench.example",
                  voters=[f"136{uid - 2:08d}" for uid in yet_to_vote], voter_ids=yet_to_vote)


def seed_ballot(conn, t, rng, ballot_id: int, consultation_id: int, phase_id: int, opened,
                shortlisted: list[int], register: range, voted: list[int],
                planner_id: int) -> list[int]:
    """An approval ballot over the shortlisted proposals, its register of voters taken as
    voting opened, and an online paper with one to MAX_CHOICES marks from each of `voted`;
    returns the option ids. Ids are spaced per ballot so several ballots fit side by side."""
    base = (ballot_id - 1) * (len(register) + 2)
    bulk_insert(conn, t["ballot"], [{
        "id": ballot_id, "consultation_id": consultation_id, "phase_id": phase_id,
        "title": "楼栋周边微改造：选出最多三项", "method": "approval",
        "max_choices": MAX_CHOICES, "budget": None, "eligibility": "resident",
        "secrecy": "open", "preset": "advisory", "quorum_pct": None,
        "threshold_pct": None, "results_live": True, "created_by_id": planner_id,
        "created_at": opened - timedelta(days=2), "shuffled_at": None, "sealed_at": None,
        "register_taken_at": opened}])
    first_option = (ballot_id - 1) * BALLOT_OPTIONS + 1
    options = list(range(first_option, first_option + len(shortlisted)))
    bulk_insert(conn, t["ballot_option"], [{
        "id": option, "ballot_id": ballot_id, "proposal_id": pid, "position": i,
        "cost": None} for i, (option, pid) in enumerate(zip(options, shortlisted))])
    bulk_insert(conn, t["ballot_register"], ({
        "id": base + uid, "ballot_id": ballot_id, "voter_key": f"u{uid}", "user_id": uid,
        "household_id": uid - 1, "floor_area": Decimal("89.50"), "added_late_by_id": None,
        "created_at": opened} for uid in register))
    bulk_insert(conn, t["ballot_voter"], ({
        "id": base + uid, "ballot_id": ballot_id, "voter_key": f"u{uid}", "user_id": uid,
        "household_id": uid - 1, "channel": "online", "batch_id": None,
        "cast_at": opened + timedelta(seconds=uid % 3600), "changed_at": None}
        for uid in voted))
    papers = {uid: f"{rng.getrandbits(128):032x}" for uid in voted}
    bulk_insert(conn, t["ballot_paper"], ({
        "id": papers[uid], "ballot_id": ballot_id, "secret": False, "voter_id": base + uid,
        "channel": "online"} for uid in voted))
    bulk_insert(conn, t["ballot_mark"], ({"paper_id": papers[uid], "option_id": o}
                                         for uid in voted
                                         for o in rng.sample(options,
                                                             rng.randint(1, MAX_CHOICES))))
    return options


def migrate(url: str) -> None:
    subprocess.run([Path(sys.executable).parent / "flask", "--app", "app", "db", "upgrade"],
                   cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, check=True,
                   capture_output=True)


# --- servers ----------------------------------------------------------------------------------


class Server:
    """gunicorn with WORKERS sync workers on a free port, stopped on leaving the block."""

    def __init__(self, app: str, cwd: Path, env: dict, log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("a")
        self.process = subprocess.Popen(
            [Path(sys.executable).parent / "gunicorn", "-w", str(WORKERS),
             "-b", f"127.0.0.1:{self.port}", "--backlog", "2048", "--timeout", "120",
             "--log-level", "warning", app],
            cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self) -> Server:
        for _ in range(150):
            try:
                urllib.request.urlopen(self.base + "/", timeout=2).read()
                return self
            except urllib.error.HTTPError:
                return self  # it answers
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not start on port {self.port}")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()

    def worker_peak_mb(self) -> list[float]:
        """Each worker's peak resident memory (VmHWM), in MB."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        peaks = []
        for child in children:
            status = Path(f"/proc/{child}/status").read_text()
            kb = int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1))
            peaks.append(round(kb / 1024, 1))
        return peaks


def app_env(url: str, count_queries: bool = False) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "LINLI_SECRET_KEY": SECRET_KEY,
           # Every browser here is 127.0.0.1: this measures pages, not the login limiter.
           "LINLI_RATELIMIT_ENABLED": "false"}
    env.pop("LINLI_COUNT_QUERIES", None)
    if count_queries:
        env["LINLI_COUNT_QUERIES"] = "1"
    return env


# --- browsers ---------------------------------------------------------------------------------


def anonymous() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect)


def cookie_header(opener: urllib.request.OpenerDirector) -> str:
    jar = next(h.cookiejar for h in opener.handlers
               if isinstance(h, urllib.request.HTTPCookieProcessor))
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def fetch(opener: urllib.request.OpenerDirector, url: str):
    """GET a page to the end; returns (status, headers)."""
    try:
        with opener.open(url, timeout=300) as answer:
            answer.read()
            return answer.status, answer.headers
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, exc.headers


def key_pages(seeded: Seeded) -> dict[str, tuple[str, str]]:
    """Name: (path, who asks: resident, planner or anonymous)."""
    c, last = seeded.community, max(1, math.ceil(seeded.proposals / Defaults.PAGE_SIZE))
    proposals = f"/c/{c}/proposals"
    site = urllib.parse.quote("3号楼")
    return {
        "community_home": (f"/c/{c}", "resident"),
        "list_page1": (proposals, "resident"),
        "list_last_page": (f"{proposals}?page={last}", "resident"),
        "list_sorted_supported": (f"{proposals}?sort=supported", "resident"),
        "list_sorted_supported_last_page": (f"{proposals}?sort=supported&page={last}",
                                            "resident"),
        "list_site_filter": (f"{proposals}?site={site}", "resident"),
        "proposal_resident": (f"{proposals}/{seeded.proposal}", "resident"),
        "proposal_planner": (f"{proposals}/{seeded.proposal}", "planner"),
        "proposal_planner_merge_search": (
            f"{proposals}/{seeded.proposal}?merge_q={urllib.parse.quote('长椅')}", "planner"),
        "ballot": (f"/c/{c}/ballots/{seeded.ballot}", "resident"),
        "ballot_results_live": (f"/c/{c}/ballots/{seeded.ballot}/results", "resident"),
        "ballot_results": (f"/c/{c}/ballots/{seeded.closed_ballot}/results", "resident"),
        "anon_community_home": (f"/c/{c}", "anonymous"),
        "anon_list_page1": (proposals, "anonymous"),
    }


def time_page(opener, url: str, requests: int, budget_s: float, warmup: int = 10) -> dict:
    """Median and p95 over up to `requests` sequential GETs, fewer when the page is so slow that
    they would take longer than `budget_s` (at least 20)."""
    for _ in range(warmup):
        status, _headers = fetch(opener, url)
        if status != 200:
            raise RuntimeError(f"{url} answered {status}")
    times, started = [], time.perf_counter()
    while len(times) < requests and (len(times) < 20
                                     or time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        status, _headers = fetch(opener, url)
        times.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise RuntimeError(f"{url} answered {status}")
    times.sort()
    return {"median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(0, math.ceil(0.95 * len(times)) - 1)], 1),
            "requests": len(times)}


def query_counts(base: str, browsers: dict, pages: dict) -> dict[str, int | None]:
    """The `X-Queries` header of each page, or None: the last of five answers, when both
    workers have filled their caches."""
    counts = {}
    for name, (path, who) in pages.items():
        for _ in range(4):
            fetch(browsers[who], base + path)
        _status, headers = fetch(browsers[who], base + path)
        value = headers.get("X-Queries")
        counts[name] = int(value) if value and value.strip().isdigit() else None
    return counts


# --- throughput -------------------------------------------------------------------------------


# The browsers here are urllib's. The load generators send its User-Agent too, as a browser
# keeps its own: a signed-in session seen from another browser is marked "not fresh" and its
# cookie signed again, which wrk, sending none, made the server do on every request.
USER_AGENT = dict(urllib.request.build_opener().addheaders)["User-agent"]


def load(url: str, cookie: str | None, seconds: float, connections: int = 4) -> dict:
    """Requests per second against one URL: wrk when installed, else Python threads."""
    if shutil.which("wrk"):
        command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s",
                   "-H", f"User-Agent: {USER_AGENT}"]
        if cookie:
            command += ["-H", f"Cookie: {cookie}"]
        out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                           r"timeout (\d+)", out)
        return {"rps": rps, "non_2xx": int(bad.group(1)) if bad else 0,
                "socket_errors": sum(map(int, errors.groups())) if errors else 0}
    return python_load(url, cookie, seconds, connections)


def python_load(url: str, cookie: str | None, seconds: float, connections: int) -> dict:
    """The fallback load generator: `connections` threads GETting the URL in a loop."""
    stop = time.perf_counter() + seconds
    counts = Counter()
    lock = threading.Lock()

    def worker():
        request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
        while time.perf_counter() < stop:
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    answer.read()
                    status = answer.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            with lock:
                counts[status] += 1

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"rps": round(sum(counts.values()) / seconds, 1),
            "non_2xx": sum(v for k, v in counts.items() if not 200 <= k < 400),
            "socket_errors": 0}


def throughput(targets: dict[str, tuple[str, str | None]], rounds: int, seconds: float
               ) -> dict[str, dict]:
    """Interleave the targets round after round (a, b, c, a, b, c...), so that a slow moment
    of the machine falls on all of them; report the mean rps of each and its errors."""
    runs: dict[str, list[dict]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, (url, cookie) in targets.items():
            runs[name].append(load(url, cookie, seconds))
    return {name: {"rps": round(statistics.mean(r["rps"] for r in results), 1),
                   "rounds": [r["rps"] for r in results],
                   "errors": sum(r["non_2xx"] + r["socket_errors"] for r in results)}
            for name, results in runs.items()}


# --- ballots ----------------------------------------------------------------------------------


def raw_request(base: str, path: str, cookie: str, body: bytes) -> bytes:
    """A form POST as the bytes a browser sends: built before the clock starts, so that sending
    it costs the load generator a write and a read, not an HTTP library's work."""
    host = urllib.parse.urlsplit(base).netloc
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n"
            f"User-Agent: {USER_AGENT}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def send_raw(address: tuple[str, int], request: bytes) -> int:
    """Send one prepared request and read its answer to the end; returns the status (0 when
    the connection failed)."""
    try:
        with socket.create_connection(address, timeout=300) as conn:
            conn.sendall(request)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        return int(answer.split(b" ", 2)[1])
    except (OSError, IndexError, ValueError):
        return 0


def ballots_per_second(base: str, engine, seeded: Seeded) -> dict:
    """Sign in the residents yet to vote, then have them all vote at once: one thread each,
    released together, each sending its prepared request on a connection of its own."""
    ballot_page = f"/c/{seeded.community}/ballots/{seeded.ballot}"
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        browsers = list(pool.map(lambda phone: sign_in(base, phone, ballot_page),
                                 seeded.voters))
    signed_in_s = time.perf_counter() - started
    options = seeded.options
    requests = [raw_request(base, f"{ballot_page}/vote", cookie_header(opener),
                            urllib.parse.urlencode(
                                [("csrf_token", token)]
                                + [("option", options[(i + k) % len(options)])
                                   for k in range(1 + i % MAX_CHOICES)]).encode())
                for i, (opener, token) in enumerate(browsers)]
    split = urllib.parse.urlsplit(base)
    address = (split.hostname, split.port)
    gate = threading.Barrier(len(requests) + 1, timeout=120)
    statuses: Counter = Counter()
    lock = threading.Lock()

    def vote(request: bytes) -> None:
        gate.wait()
        status = send_raw(address, request)
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=vote, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    gate.wait()  # every thread is ready: the clock starts as they are released
    t0 = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    ids = ",".join(map(str, seeded.voter_ids))
    with engine.connect() as conn:
        voters = conn.execute(text(
            f"SELECT count(*), count(DISTINCT user_id) FROM ballot_voter "
            f"WHERE ballot_id = :b AND user_id IN ({ids})"), {"b": seeded.ballot}).one()
        papers = conn.execute(text(
            f"SELECT count(*) FROM ballot_paper p JOIN ballot_voter v ON v.id = p.voter_id "
            f"WHERE v.ballot_id = :b AND v.user_id IN ({ids}) AND EXISTS "
            f"(SELECT 1 FROM ballot_mark m WHERE m.paper_id = p.id)"), {"b": seeded.ballot}
        ).scalar()
    voted = len(seeded.voters)
    return {"voters": voted, "ballots_per_s": round(voted / elapsed, 1),
            "seconds": round(elapsed, 2), "sign_in_s": round(signed_in_s, 1),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "errors": sum(v for k, v in statuses.items() if k != 303),
            "votes_in_db": voters[0], "distinct_voters_in_db": voters[1],
            "papers_with_marks": papers,
            "one_vote_each": voters[0] == voters[1] == papers == voted,
            "lost": voted - voters[1]}


# --- one size ---------------------------------------------------------------------------------


def run_size(n: int, args, tmp: Path) -> dict:
    """Seed a database of size n and take every measurement on it."""
    path = tmp / f"pages-{n}.sqlite"
    url = f"sqlite:///{path}"
    log = tmp / f"gunicorn-{n}.log"
    migrate(url)
    engine = create_engine(url)
    started = time.perf_counter()
    seeded = seed(engine, n, args.voters)
    seed_s = round(time.perf_counter() - started, 2)
    print(f"\nN = {n:,}: seeded in {seed_s} s ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
    pages = key_pages(seeded)
    # Other work on the machine shows here: the numbers are only comparable on a quiet one.
    result = {"seed_s": seed_s, "load_average_before": os.getloadavg()[0]}

    with Server("app:create_app()", ROOT, app_env(url, count_queries=True), log) as server:
        browsers = {"resident": sign_in(server.base, seeded.resident, "/")[0],
                    "planner": sign_in(server.base, seeded.planner, "/")[0],
                    "anonymous": anonymous()}
        result["queries"] = query_counts(server.base, browsers, pages)

    # Sessions live in the database: the browsers stay signed in on the next server.
    with Server("app:create_app()", ROOT, app_env(url), log) as server, \
            Server("bare:app", BENCH, app_env(url), log) as bare:
        result["pages"] = {}
        for name, (path_, who) in pages.items():
            timing = time_page(browsers[who], server.base + path_, args.requests,
                               args.budget)
            result["pages"][name] = timing
            print(f"  {name:24} median {timing['median_ms']:8.1f} ms   "
                  f"p95 {timing['p95_ms']:8.1f} ms   ({timing['requests']} requests)",
                  flush=True)
        result["peak_rss_mb"] = max(server.worker_peak_mb())
        result["worker_peaks_mb"] = server.worker_peak_mb()
        c = seeded.community
        result["throughput"] = throughput({
            "list": (f"{server.base}/c/{c}/proposals", cookie_header(browsers["resident"])),
            "bare": (f"{bare.base}/", None),
            "anon_home": (f"{server.base}/c/{c}", None),
            "anon_list": (f"{server.base}/c/{c}/proposals", None),
        }, args.rounds, args.seconds)
        print("  throughput: " + ", ".join(f"{k} {v['rps']} rps"
                                           for k, v in result["throughput"].items()),
              flush=True)
        result["worker_peaks_after_load_mb"] = server.worker_peak_mb()
        if seeded.voters:
            result["ballots"] = ballots_per_second(server.base, engine, seeded)
            b = result["ballots"]
            print(f"  ballots: {b['voters']} at once, {b['ballots_per_s']} ballots/s, "
                  f"errors {b['errors']}, one vote each: {b['one_vote_each']}", flush=True)
    engine.dispose()
    result["load_average_after"] = os.getloadavg()[0]
    server_log = log.read_text()
    result["server_tracebacks"] = server_log.count("Traceback")
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return result


# --- output -----------------------------------------------------------------------------------


def commit_hash(app_only: bool = False) -> str:
    """HEAD, or the last commit that changed the app itself (anything outside bench/)."""
    command = ["git", "log", "-1", "--format=%h"] + (["--", ".", ":!bench"] if app_only else [])
    try:
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict:
    import sqlite3

    return {"cpus": os.cpu_count(), "python": sys.version.split()[0],
            "sqlite": sqlite3.sqlite_version, "workers": WORKERS,
            "load_generator": "wrk" if shutil.which("wrk") else "python threads"}


def assemble(by_size: dict[int, dict], args) -> dict:
    """The report: pages by name then size; the headline throughput and ballot figures of the
    largest size, and every size's in `by_size`."""
    names = next(iter(by_size.values()))["pages"].keys()
    largest = by_size[max(by_size)]
    out = {
        "pages": {name: {str(n): {**r["pages"][name], "queries": r["queries"][name]}
                         for n, r in by_size.items()} for name in names},
        "list_rps": largest["throughput"]["list"]["rps"],
        "bare_rps": largest["throughput"]["bare"]["rps"],
        "anon_home_rps": largest["throughput"]["anon_home"]["rps"],
        "anon_list_rps": largest["throughput"]["anon_list"]["rps"],
        "ballots_per_s": largest.get("ballots", {}).get("ballots_per_s"),
        "peak_rss_mb": {str(n): r["peak_rss_mb"] for n, r in by_size.items()},
        "seed_s": {str(n): r["seed_s"] for n, r in by_size.items()},
        "headline_size": max(by_size),
        "by_size": {str(n): {k: r.get(k) for k in ("throughput", "ballots", "worker_peaks_mb",
                                                   "worker_peaks_after_load_mb",
                                                   "server_tracebacks", "load_average_before",
                                                   "load_average_after")}
                    for n, r in by_size.items()},
        "commit": commit_hash(),
        "app_commit": commit_hash(app_only=True),
        "machine": machine(),
        "settings": {"requests": args.requests, "budget_s": args.budget, "rounds": args.rounds,
                     "seconds": args.seconds, "voters": args.voters,
                     "page_size": Defaults.PAGE_SIZE,
                     "latency_server": "started without LINLI_COUNT_QUERIES; queries come "
                                       "from a separate pass with it"},
    }
    return out


def table(out: dict) -> str:
    sizes = list(out["seed_s"])
    head = f"{'page':24}" + "".join(f"{'N=' + s:>26}" for s in sizes)
    lines = [head, f"{'':24}" + "".join(f"{'median / p95 ms (queries)':>26}" for _ in sizes)]
    for name, by_size in out["pages"].items():
        cells = []
        for s in sizes:
            r = by_size[s]
            q = "-" if r["queries"] is None else r["queries"]
            cells.append(f"{r['median_ms']:.0f} / {r['p95_ms']:.0f} ({q})")
        lines.append(f"{name:24}" + "".join(f"{c:>26}" for c in cells))
    lines.append(f"{'seed s':24}" + "".join(f"{out['seed_s'][s]:>26}" for s in sizes))
    lines.append(f"{'peak worker RSS MB':24}" + "".join(f"{out['peak_rss_mb'][s]:>26}"
                                                       for s in sizes))
    for key in ("list", "bare", "anon_home", "anon_list"):
        lines.append(f"{key + ' rps':24}" + "".join(
            f"{out['by_size'][s]['throughput'][key]['rps']:>26}" for s in sizes))
    lines.append(f"{'ballots/s':24}" + "".join(
        f"{(out['by_size'][s]['ballots'] or {}).get('ballots_per_s', '-'):>26}"
        for s in sizes))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="comma-separated numbers of residents and proposals")
    parser.add_argument("--out", type=Path, help="write the JSON report here")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds per page at most (but at least 20 requests)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved throughput rounds")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per load run")
    parser.add_argument("--voters", type=int, default=1000,
                        help="residents who vote all at once at the end (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the database files")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="linli-pages-"))
    print(f"commit {commit_hash()} (app {commit_hash(app_only=True)}), {machine()}; "
          f"files in {tmp}")
    by_size = {n: run_size(n, args, tmp) for n in sizes}
    out = assemble(by_size, args)
    print("\n" + table(out))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
        print(f"\nwritten to {args.out}")
    tracebacks = sum(r["server_tracebacks"] for r in by_size.values())
    if tracebacks:
        print(f"\nthe server logged {tracebacks} tracebacks (see {tmp})")
    return 1 if tracebacks else 0


if __name__ == "__main__":
    sys.exit(main())
