"""The street's or district's view: every community's checklist completeness, open
consultations, plan status and progress, the gaps most common across communities, and the
same figures as a spreadsheet; read in the same number of queries for 3 communities or 30."""
from __future__ import annotations

import io
from datetime import date, timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from participation.clock import utcnow
from participation.consultations.models import Consultation, Phase
from participation.extensions import db
from participation.plan.models import (
    Checkup,
    CheckupEntry,
    Plan,
    PlanDecision,
    PlanVersion,
    Project,
    ProjectDecision,
)
from participation.standards import item_names
from tests.conftest import client_for
from tests.plan.test_decision import text


def _checkup(community, findings: dict[str, str]) -> None:
    old = Checkup(community_id=community.id, started_at=utcnow() - timedelta(days=400))
    old.entries.append(CheckupEntry(item_id="cc05", state="missing", checked_on=date(2025, 1, 1)))
    current = Checkup(community_id=community.id, started_at=utcnow() - timedelta(days=10))
    current.entries.extend(CheckupEntry(item_id=item, state=state, checked_on=date(2026, 1, 1))
                           for item, state in findings.items())
    db.session.add_all([old, current])


def _world(app, factory, extra: int = 0):
    east = factory.community(name="金榜社区")
    west = factory.community(name="文屏社区")
    other = factory.community(name="莲前社区", street="莲前街道")
    for n in range(extra):
        factory.community(name=f"加社区{n:02d}")
    now = utcnow()
    with app.app_context():
        _checkup(east, {"cc03": "missing", "cc04": "insufficient", "cc05": "present"})
        _checkup(west, {"cc03": "missing"})
        _checkup(other, {"cc03": "insufficient", "cc07": "missing"})
        consultation = Consultation(community_id=east.id, template="micro_space", title="口袋公园")
        consultation.phases.append(Phase(kind="collect", starts_at=now - timedelta(days=1),
                                         ends_at=now + timedelta(days=5)))
        closed = Consultation(community_id=east.id, template="micro_space", title="旧的")
        closed.phases.append(Phase(kind="collect", starts_at=now - timedelta(days=30),
                                   ends_at=now - timedelta(days=5)))
        db.session.add_all([consultation, closed])
        plan = Plan(community_id=east.id, title="2027 年度方案", weights={},
                    notice_version=1, notice_starts_at=now - timedelta(days=1),
                    notice_ends_at=now + timedelta(days=6))
        draft = Plan(community_id=west.id, title="草案", weights={})
        db.session.add_all([plan, draft])
        db.session.flush()
        projects = [Project(plan_id=plan.id, title=t, progress=p, status=s) for t, p, s in
                    [("坡道", 40, "construction"), ("长椅", 80, "design"),
                     ("托育", 0, "cancelled"), ("路灯", 0, "not_started")]]
        db.session.add_all(projects)
        db.session.flush()
        decision = PlanDecision(plan_id=plan.id, held_on=now.date(), members_present="陈",
                                present=1, committee_size=1)
        decision.outcomes.extend(ProjectDecision(project_id=p.id, outcome=o) for p, o in
                                 zip(projects, ("adopt", "adopt", "adopt", "reject"),
                                     strict=True))
        db.session.add(decision)
        db.session.commit()
    return east, west, other


def test_admins_see_every_community_and_the_common_gaps(app, factory):
    east, west, other = _world(app, factory)
    admin = client_for(app, factory.user(admin=True))
    page = text(admin.get("/district").get_data(as_text=True))
    # 金榜: 1 present + 0.5 insufficient of the checklist's items; one consultation open; the
    # plan under notice, 3 projects adopted, (40 + 80) / 2 = 60% done (the cancelled one left
    # out).
    assert "金榜社区" in page and "公示中" in page and "60% / 3 个项目" in page
    assert "草案" in page and "莲前社区" in page
    names = item_names()
    gaps = page.split("清单项")[-1]
    first = names["cc03"].name("zh_CN")
    assert f"{first} 3 2 1" in gaps  # missing in two communities, insufficient in one
    assert names["cc05"].name("zh_CN") not in gaps  # found in an old checkup only
    streets = text(admin.get("/district?street=莲前街道").get_data(as_text=True))
    assert "莲前社区" in streets and "金榜社区" not in streets
    xlsx = admin.get("/district.xlsx")
    book = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    xlsx.close()
    sheet = list(book.worksheets[0].values)
    by_name = {row[0]: row for row in sheet[2:]}
    assert set(by_name) == {"金榜社区", "文屏社区", "莲前社区"}
    assert by_name["金榜社区"][5:] == (1, "2027 年度方案", "公示中", 3, 60)
    assert by_name["文屏社区"][7] == "草案，尚未决定" and by_name["莲前社区"][7] == "尚无方案"
    gaps = list(book.worksheets[1].values)[1:]
    assert gaps[0] == (first, 3, 2, 1)
    assert sorted(g[0] for g in gaps[1:]) == sorted(names[i].name("zh_CN")
                                                    for i in ("cc04", "cc07"))
    book.close()


def test_the_district_page_costs_the_same_for_30_communities(app, factory, count_queries):
    _world(app, factory)
    admin = client_for(app, factory.user(admin=True))
    admin.get("/district")
    with count_queries() as small:
        assert admin.get("/district").status_code == 200
    for n in range(30):
        factory.community(name=f"加社区{n:02d}")
    with count_queries() as large:
        assert admin.get("/district").status_code == 200
    assert large.count == small.count <= 8, "\n".join(s[:90] for s in large.statements)


def test_the_district_shows_the_plan_being_carried_out_and_whether_it_is_final(app, factory):
    east, _west, _other = _world(app, factory)
    admin = client_for(app, factory.user(admin=True))
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.community_id == east.id))
        plan.notice_starts_at = utcnow() - timedelta(days=20)
        plan.notice_ends_at = utcnow() - timedelta(days=13)
        db.session.add(PlanVersion(plan_id=plan.id, number=1, change="", projects=[]))
        # Next year's draft, opened since: the district still follows the plan under way.
        db.session.add(Plan(community_id=east.id, title="2028 年度草案", weights={},
                            created_at=utcnow() + timedelta(minutes=1)))
        db.session.commit()
        plan_id = plan.id
    row = text(admin.get("/district").get_data(as_text=True)).split("金榜社区")[1]
    assert "2027 年度方案" in row and "2028 年度草案" not in row
    assert "已定稿" in row and "60% / 3 个项目" in row
    with app.app_context():  # changed after its notice: version 2 was never put to residents
        db.session.add(PlanVersion(plan_id=plan_id, number=2, change="", projects=[]))
        db.session.commit()
    row = text(admin.get("/district").get_data(as_text=True)).split("金榜社区")[1]
    assert "已决定，未公示" in row and "已定稿" not in row
