"""Exports of a large decided plan: time and peak memory.

Seeds a fresh SQLite file with one community whose plan has `--projects` projects (default
2,000) and `--sources` source links (default 20,000) spread over them, has the committee decide
it (which freezes version 1) and publishes it with one objection per hundred projects. Then, in
a fresh process, it reads each export of version 1 (CSV, XLSX, JSON, the print view) through
the app, consuming the answer chunk by chunk as a browser does, and prints for each the time,
the size, and the worker's peak memory (VmHWM) above its idle memory after start-up.

    .venv/bin/python bench/plan_exports.py --out bench/results/plan_exports.json

The target (issue: the decision list's exports) is a peak within 100 MB of idle.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _app(database: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "bench" * 8,
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})


def seed(database: str, projects: int, sources: int) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from participation.accounts.models import User
    from participation.clock import utcnow
    from participation.communities.models import Community, Membership
    from participation.extensions import db
    from participation.plan import operations as ops
    from participation.plan.models import Plan, Project, ProjectSource
    from participation.policy import Role

    app = _app(database)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    started = time.perf_counter()
    with app.test_request_context("/"):
        community = Community(name="基准社区", district="思明区", street="筼筜街道",
                              committee_name="基准社区居委会")
        chair = User(display_name="陈主任", phone="13800009999", password_hash="x")
        resident = User(display_name="林阿婆", phone="13900009999", password_hash="x")
        db.session.add_all([community, chair, resident])
        db.session.flush()
        db.session.add_all([
            Membership(user_id=chair.id, community_id=community.id, role=Role.COMMITTEE.value),
            Membership(user_id=resident.id, community_id=community.id,
                       role=Role.VERIFIED.value, verified_at=utcnow())])
        plan = Plan(community_id=community.id, title="2027 年度社区更新方案", weights={})
        db.session.add(plan)
        db.session.flush()
        db.session.execute(insert(Project), [
            {"plan_id": plan.id, "title": f"在{i % 40}号楼旁加装长椅 #{i}",
             "score": Decimal(i % 97), "category": "basic_public_services",
             "cost": Decimal(1000 + i * 10), "description": "为老人和带孩子的家长提供休息处。",
             "funding": "社区微更新经费", "responsible": "居委会", "timeline": "2027年"}
            for i in range(projects)])
        ids = list(db.session.scalars(select(Project.id).where(Project.plan_id == plan.id)))
        db.session.execute(insert(ProjectSource), [
            {"plan_id": plan.id, "project_id": ids[i % len(ids)], "kind": "proposal",
             "ref": str(i), "title": f"居民提议：加装长椅 #{i}", "detail": f"{i % 30} 人支持",
             "signal": Decimal(i % 30)} for i in range(sources)])
        ops.decide(chair, plan, held_on=date(2027, 4, 10), members_present="陈主任",
                   present=1, size=1, now=utcnow(),
                   outcomes={pid: ("adopt" if n % 3 else "defer", 1, 0, 0, "按得分排序")
                             for n, pid in enumerate(ids)})
        ops.publish(chair, plan, utcnow(), 7, lambda p: "/")
        for pid in ids[::100]:
            ops.object_to(resident, plan, pid, "这个位置会挡住消防通道。", utcnow())
        db.session.commit()
        result = {"community_id": community.id, "plan_id": plan.id}
    result["seed_s"] = round(time.perf_counter() - started, 1)
    return result


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def measure(database: str, community_id: int, plan_id: int) -> dict:
    """Run in a fresh process: the exports one after the other, each read chunk by chunk."""
    app = _app(database)
    client = app.test_client()
    base = f"/c/{community_id}/plans/{plan_id}"
    client.get(f"{base}/versions/1/list.csv?warm=1").close()  # imports, templates, catalogs
    idle = _rss_mb("VmRSS")
    results = {"idle_rss_mb": round(idle, 1), "exports": {}}
    for name, url in [("csv", f"{base}/versions/1/list.csv"),
                      ("xlsx", f"{base}/versions/1/list.xlsx"),
                      ("json", f"{base}/versions/1/list.json"),
                      ("print", f"{base}/versions/1/print")]:
        started = time.perf_counter()
        response = client.get(url, buffered=False)
        size = sum(len(chunk) for chunk in response.response)
        response.close()
        assert response.status_code == 200, (name, response.status_code)
        results["exports"][name] = {
            "seconds": round(time.perf_counter() - started, 2), "bytes": size,
            "peak_above_idle_mb": round(_rss_mb("VmHWM") - idle, 1)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--sources", type=int, default=20000)
    parser.add_argument("--out", help="write the results here as JSON")
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the fresh process
        database, community_id, plan_id = args.measure
        print(json.dumps(measure(database, int(community_id), int(plan_id))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{tmp}/bench.db"
        seeded = seed(database, args.projects, args.sources)
        answer = subprocess.run(
            [sys.executable, __file__, "--measure", database, str(seeded["community_id"]),
             str(seeded["plan_id"])], check=True, capture_output=True, text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"})
        measured = json.loads(answer.stdout.strip().splitlines()[-1])
    results = {"projects": args.projects, "sources": args.sources,
               "seed_s": seeded["seed_s"], **measured}
    for name, figures in results["exports"].items():
        print(f"{name:6} {figures['seconds']:6.2f} s {figures['bytes'] / 1e6:7.2f} MB  "
              f"peak +{figures['peak_above_idle_mb']:.1f} MB over idle "
              f"{results['idle_rss_mb']:.1f} MB")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
