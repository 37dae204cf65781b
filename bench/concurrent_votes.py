"""One person, one vote under gunicorn: concurrent ballots and supports never count anyone twice.

Starts the real server (gunicorn, 4 workers) on a fresh SQLite file, or on DATABASE_URL if set,
with a community of N verified residents, each in their own household. Every resident signs in,
then all of them submit the same form several times at once (default 200 residents x 5 clicks
= 1,000 requests fired together), in three scenarios:

- open ballot: every submission is counted or changes the vote (303); exactly one voter row and
  one paper per resident, each voter having changed their vote, each paper naming its voter and
  holding at least one mark;
- secret ballot: the first submission is counted (303), the others are refused calmly (422,
  "a secret ballot is final"); exactly one voter row and one paper per resident, no paper naming
  a voter;
- supports: every submission answers 303; exactly one support per resident.

No answer may be a 5xx. The numbers are printed; the exit status is 1 if any scenario fails.

    .venv/bin/python bench/concurrent_votes.py [--users 200] [--clicks 5] [--workers 4]

On DATABASE_URL the migrations are applied and the run adds its own community, residents and
consultation next to whatever is there, so the same database can be used again.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
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
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
PASSWORD = "bench password 1"
PHONE_PREFIX = "136"


sys.path.insert(0, str(Path(__file__).resolve().parent))
from concurrent_writes import NoRedirect, free_port  # noqa: E402  (the same server helpers)


# --- the community, before the server starts ------------------------------------------------


def prepare(users: int) -> dict:
    """Create the community, its residents, a consultation with two shortlisted proposals and
    two ballots (open and secret); return the ids the load needs."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import func, select

    from app import create_app
    from participation.extensions import db
    from participation.accounts.models import User
    from participation.clock import utcnow
    from participation.communities.models import Community, Household, Membership
    from participation.consultations.models import Consultation, Phase
    from participation.policy import Role
    from participation.security import hash_password
    from proposals.ballots.models import Ballot, BallotOption
    from proposals.models import Proposal

    app = create_app()
    with app.app_context():
        now = utcnow()
        # Phone numbers continue after those of earlier runs on the same database.
        last = db.session.scalar(select(func.max(User.phone)).where(
            User.phone.like(PHONE_PREFIX + "_" * 8)))
        first = int(last[len(PHONE_PREFIX):]) + 1 if last else 1
        # One hash for everybody: hashing is deliberately slow, and the accounts are alike.
        password_hash = hash_password(PASSWORD)

        community = Community(name=f"并发投票小区 {now:%Y%m%d%H%M%S%f}", district="厦门市思明区",
                              street="筼筜街道", committee_name="并发投票小区居委会",
                              household_count=users)
        db.session.add(community)
        db.session.flush()

        def resident(n: int, household: Household | None) -> User:
            user = User(display_name=f"居民{n}", phone=f"{PHONE_PREFIX}{n:08d}",
                        password_hash=password_hash, current_community_id=community.id)
            db.session.add(user)
            db.session.flush()
            db.session.add(Membership(
                user_id=user.id, community_id=community.id, role=Role.VERIFIED.value,
                household_id=household.id if household else None, verified_at=now))
            return user

        # The author of the proposals: residents cannot support their own proposal.
        author = resident(first, None)
        phones = []
        for i in range(users):
            household = Household(community_id=community.id, building="1号楼", unit="1单元",
                                  room=str(1001 + i), floor_area=Decimal("89.50"))
            db.session.add(household)
            db.session.flush()
            phones.append(resident(first + 1 + i, household).phone)

        # Ideas are collected (supports open) while two votes run: the collect phase starts
        # first, so it is the consultation's active phase.
        consultation = Consultation(community_id=community.id, template="micro_space",
                                    title="口袋公园", created_by_id=author.id)
        collect = Phase(kind="collect", starts_at=now - timedelta(days=2),
                        ends_at=now + timedelta(days=10))
        open_vote = Phase(kind="vote", starts_at=now - timedelta(days=1),
                          ends_at=now + timedelta(days=5))
        secret_vote = Phase(kind="vote", starts_at=now - timedelta(days=1),
                            ends_at=now + timedelta(days=5))
        consultation.phases.extend([collect, open_vote, secret_vote])
        db.session.add(consultation)
        db.session.flush()

        proposals = [Proposal(consultation_id=consultation.id, author_id=author.id,
                              title=title, category="other", site="3号楼北侧空地",
                              status="accepted", submitted_at=now)
                     for title in ("共享菜园", "儿童沙坑")]
        db.session.add_all(proposals)
        db.session.flush()

        ballots = {}
        for secrecy, phase in (("open", open_vote), ("secret", secret_vote)):
            ballot = Ballot(consultation_id=consultation.id, phase_id=phase.id,
                            title=f"口袋公园投票（{secrecy}）", method="approval", max_choices=2,
                            eligibility="resident", secrecy=secrecy, preset="advisory")
            ballot.options.extend(BallotOption(proposal_id=p.id, position=i)
                                  for i, p in enumerate(proposals))
            db.session.add(ballot)
            db.session.flush()
            ballots[secrecy] = (ballot.id, [o.id for o in ballot.options])
        db.session.commit()
        ids = {"community": community.id, "ballots": ballots, "proposal": proposals[0].id,
               "phones": phones}
        db.session.remove()
        db.engine.dispose()
    return ids


# --- browsers -------------------------------------------------------------------------------


def sign_in(base: str, phone: str, page: str) -> tuple[urllib.request.OpenerDirector, str]:
    """Log in as one resident; return the browser and the form token of its session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    token = TOKEN.search(opener.open(f"{base}/login", timeout=120).read().decode()).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "login": phone,
                                   "password": PASSWORD}).encode()
    status = post(opener, f"{base}/login", body)
    if status != 303:
        raise RuntimeError(f"login of {phone} answered {status}")
    token = TOKEN.search(opener.open(base + page, timeout=120).read().decode()).group(1)
    return opener, token


def post(opener: urllib.request.OpenerDirector, url: str, body: bytes) -> int:
    try:
        return opener.open(url, body, timeout=300).status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:  # no answer at all (connection reset or timed out): counted as status 0
        return 0


def all_at_once(jobs: list[tuple[urllib.request.OpenerDirector, str, bytes]]
                ) -> tuple[Counter, float]:
    """Send every request from its own thread, released together; return statuses and time."""
    start = threading.Barrier(len(jobs), timeout=120)

    def send(job):
        opener, url, body = job
        start.wait()
        return post(opener, url, body)

    started = time.perf_counter()
    with ThreadPoolExecutor(len(jobs)) as pool:
        statuses = Counter(pool.map(send, jobs))
    return statuses, time.perf_counter() - started


# --- scenarios ------------------------------------------------------------------------------


def count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def ballot_rows(engine, ballot_id: int) -> dict[str, int]:
    return {
        "voters": count(engine, "SELECT count(*) FROM ballot_voter WHERE ballot_id = :b",
                        b=ballot_id),
        "distinct voter keys": count(
            engine, "SELECT count(DISTINCT voter_key) FROM ballot_voter WHERE ballot_id = :b",
            b=ballot_id),
        "voters who changed their vote": count(
            engine, "SELECT count(*) FROM ballot_voter WHERE ballot_id = :b "
            "AND changed_at IS NOT NULL", b=ballot_id),
        "papers": count(engine, "SELECT count(*) FROM ballot_paper WHERE ballot_id = :b",
                        b=ballot_id),
        "papers naming a voter": count(
            engine, "SELECT count(*) FROM ballot_paper WHERE ballot_id = :b "
            "AND voter_id IS NOT NULL", b=ballot_id),
        "papers without a mark": count(
            engine, "SELECT count(*) FROM ballot_paper p WHERE p.ballot_id = :b AND NOT EXISTS "
            "(SELECT 1 FROM ballot_mark m WHERE m.paper_id = p.id)", b=ballot_id),
    }


def report(name: str, requests: int, statuses: Counter, expected: Counter, rows: dict,
           wanted: dict, elapsed: float) -> bool:
    server_errors = sum(v for k, v in statuses.items() if k >= 500)
    ok = server_errors == 0 and statuses == expected and rows == wanted
    print(f"\n{name}: {requests} requests in {elapsed:.1f} s")
    print(f"  status codes: {dict(sorted(statuses.items()))} "
          f"(expected {dict(sorted(expected.items()))}); 5xx: {server_errors}")
    for key, value in rows.items():
        print(f"  {key}: {value} (expected {wanted[key]})")
    print(f"  {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--clicks", type=int, default=5, help="submissions per resident")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    n, clicks = args.users, args.clicks

    tmp = tempfile.mkdtemp(prefix="linli-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite")
    os.environ["LINLI_SECRET_KEY"] = "bench-secret-key-0123456789abcdef0123456789"
    # Every simulated browser shares 127.0.0.1, which the per-address limit on logins would
    # stop after ten: this measures concurrent votes, not the limiter.
    os.environ["LINLI_RATELIMIT_ENABLED"] = "false"
    url = os.environ["DATABASE_URL"]
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "flask", "--app", "app", "db", "upgrade"], cwd=ROOT,
                   check=True, capture_output=True)
    ids = prepare(n)
    community = ids["community"]
    open_id, open_options = ids["ballots"]["open"]
    secret_id, secret_options = ids["ballots"]["secret"]
    proposal = ids["proposal"]

    port = free_port()
    log_path = Path(tmp) / "gunicorn.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [bin_dir / "gunicorn", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
         "--backlog", "2048", "--log-level", "warning", "app:app"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/login", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        page = f"/c/{community}/ballots/{open_id}"
        started = time.perf_counter()
        with ThreadPoolExecutor(50) as pool:
            browsers = list(pool.map(lambda phone: sign_in(base, phone, page), ids["phones"]))
        print(f"{n} residents signed in in {time.perf_counter() - started:.1f} s "
              f"({args.workers} gunicorn workers, {url.split(':', 1)[0]})")

        def ballot_jobs(ballot_id: int, options: list[int]):
            # Clicks alternate between one choice and both, so changes really change the marks.
            vote_url = f"{base}/c/{community}/ballots/{ballot_id}/vote"
            return [(opener, vote_url, urllib.parse.urlencode(
                        [("csrf_token", token)] + [("option", o) for o in options[:1 + c % 2]]
                    ).encode())
                    for opener, token in browsers for c in range(clicks)]

        engine = create_engine(url)
        statuses, elapsed = all_at_once(ballot_jobs(open_id, open_options))
        rows = ballot_rows(engine, open_id)
        results.append(report(
            "Open ballot (a resident may change their vote)", n * clicks, statuses,
            Counter({303: n * clicks}), rows,
            {"voters": n, "distinct voter keys": n,
             "voters who changed their vote": n if clicks > 1 else 0, "papers": n,
             "papers naming a voter": n, "papers without a mark": 0}, elapsed))

        statuses, elapsed = all_at_once(ballot_jobs(secret_id, secret_options))
        rows = ballot_rows(engine, secret_id)
        results.append(report(
            "Secret ballot (the first vote is final)", n * clicks, statuses,
            +Counter({303: n, 422: n * (clicks - 1)}), rows,
            {"voters": n, "distinct voter keys": n, "voters who changed their vote": 0,
             "papers": n, "papers naming a voter": 0, "papers without a mark": 0}, elapsed))

        support_url = f"{base}/c/{community}/proposals/{proposal}/support"
        statuses, elapsed = all_at_once(
            [(opener, support_url, urllib.parse.urlencode({"csrf_token": token}).encode())
             for opener, token in browsers for _ in range(clicks)])
        rows = {"supports": count(engine, "SELECT count(*) FROM support WHERE proposal_id = :p",
                                  p=proposal)}
        engine.dispose()
        results.append(report("Supports", n * clicks, statuses, Counter({303: n * clicks}),
                              rows, {"supports": n}, elapsed))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    ok = all(results) and len(results) == 3
    server_log = log_path.read_text()
    if "Traceback" in server_log or not ok:
        print(f"\nserver log ({log_path}):\n{server_log[-20000:]}")
    print("\nOK" if ok else "\nFAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
