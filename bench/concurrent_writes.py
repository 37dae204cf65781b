"""Concurrent writers under gunicorn: no "database is locked", no 5xx, no lost or doubled rows.

Starts the real server (gunicorn, 4 workers) on a fresh SQLite file, or on DATABASE_URL if set,
then has N browsers register at once, each account submitted twice (a double click). Expected:
exactly N accounts, every answer a 303 (created) or 200 (the calm "already registered"), no 5xx.

    .venv/bin/python bench/concurrent_writes.py [--users 200] [--workers 4]
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def register_twice(base: str, n: int) -> list[int]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    page = opener.open(f"{base}/register", timeout=60).read().decode()
    token = TOKEN.search(page).group(1)
    body = urllib.parse.urlencode({
        "csrf_token": token, "display_name": f"居民{n}", "login": f"137{n:08d}",
        "password": "bench password 1", "confirm": "bench password 1"}).encode()
    statuses = []
    for _ in range(2):
        try:
            statuses.append(opener.open(f"{base}/register", body, timeout=60).status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=50)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="linli-bench-")
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench.sqlite")
    env["LINLI_SECRET_KEY"] = "bench-secret-key-0123456789abcdef0123456789"
    # Every simulated browser shares 127.0.0.1, which the per-address limit on registrations
    # would stop after ten: this measures concurrent writes, not the limiter.
    env["LINLI_RATELIMIT_ENABLED"] = "false"
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [bin_dir / "gunicorn", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:app"],
        cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/login", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            results = list(pool.map(lambda n: register_twice(base, n), range(args.users)))
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)

    statuses = Counter(s for pair in results for s in pair)
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        users = conn.execute(text('SELECT count(*) FROM "user"')).scalar()
    engine.dispose()
    print(f"{args.users} users x 2 submissions, {args.workers} gunicorn workers, "
          f"{args.threads} client threads: {elapsed:.1f} s")
    print(f"status codes: {dict(sorted(statuses.items()))}; accounts in database: {users}")
    failed = sum(v for k, v in statuses.items() if k >= 500)
    ok = failed == 0 and users == args.users
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
