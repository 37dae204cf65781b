"""The committee decides the plan's list at a meeting with its quorum, which freezes a numbered
version; later changes make new versions, compared field by field. The decided list is
published for objections for a set period, answered publicly, and exported as XLSX, CSV and
JSON equal to what the version's page shows, formula-like text neutralised."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from participation.clock import utcnow
from participation.communities.models import Community
from participation.extensions import db
from participation.plan import operations as ops
from participation.plan.models import Objection, Plan, PlanVersion
from participation.policy import Role
from tests.conftest import client_for, post


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class Decided:
    """A community whose plan has three projects, one titled like a spreadsheet formula."""

    TITLES = ["东门无障碍坡道", '=HYPERLINK("http://evil.example","点我")', "3号楼后长椅"]

    def __init__(self, app, factory):
        self.app = app
        self.community = factory.community()
        self.chair = factory.user(self.community, Role.COMMITTEE, display_name="陈主任")
        self.members = [factory.user(self.community, Role.COMMITTEE) for _ in range(4)]
        self.resident = factory.user(self.community, Role.VERIFIED, display_name="林阿婆")
        self.newcomer = factory.user(self.community, Role.RESIDENT)
        self.outsider = factory.user(factory.community(), Role.COMMITTEE)
        with app.test_request_context():
            user = db.session.get(type(self.chair), self.chair.id)
            plan = ops.create_plan(user, db.session.get(Community, self.community.id), "方案")
            self.projects = [ops.save_project(
                user, plan, None, title=title, description="", category=None, item_id=None,
                site_id=None, cost=Decimal(cost), funding="社区经费", responsible="居委会",
                timeline="2027年") for title, cost in zip(self.TITLES, (60000, 100, 8000),
                                                          strict=True)]
            for project, score in zip(self.projects, (20, 5, 3), strict=True):
                project.score = Decimal(score)
            db.session.commit()
            self.plan_id, self.ids = plan.id, [p.id for p in self.projects]
        self.url = f"/c/{self.community.id}/plans/{self.plan_id}"
        self.committee = client_for(app, self.chair)

    def decide(self, present="4", size="5", **overrides):
        form = {"held_on": "2027-04-10", "members_present": "陈主任\n黄委员\n苏阿姨\n李委员",
                "present": present, "committee_size": size}
        for pid, outcome in zip(self.ids, ("adopt", "reject", "defer"), strict=True):
            form.update({f"outcome-{pid}": outcome, f"for-{pid}": "3", f"against-{pid}": "1",
                         f"abstain-{pid}": "0", f"rationale-{pid}": f"理由{pid}"})
        form.update(overrides)
        return post(self.committee, f"{self.url}/decide", form, page=f"{self.url}/decide")


def test_the_committee_decides_with_its_quorum_and_the_list_is_versioned(app, factory):
    plan = Decided(app, factory)
    assert plan.decide(present="2", size="5").status_code == 422  # 2 of 5: no quorum
    short = plan.decide(present="2", size="5").get_data(as_text=True)
    assert "法定人数" in short and "陈主任" in short  # says why, keeps what was typed
    too_many = plan.decide(**{f"for-{plan.ids[0]}": "5"})
    assert too_many.status_code == 422 and "票数超过了出席人数" in too_many.get_data(as_text=True)
    decided = plan.decide()
    assert decided.status_code == 303 and decided.headers["Location"].endswith("/versions/1")
    again = plan.decide()  # the same form sent twice: one decision, one version
    assert again.status_code == 422 and "版本 1" in again.get_data(as_text=True)
    assert plan.committee.get(f"{plan.url}/versions?a=99999999999999999999&b=1"
                              ).status_code == 200
    page = text(plan.committee.get(decided.headers["Location"]).get_data(as_text=True))
    assert "4 / 5" in page or "出席 4 人，共 5 人" in page
    assert "采纳" in page and "否决" in page and "暂缓" in page and "3 / 1 / 0" in page
    # A later edit makes version 2; the difference names the field and both values.
    edit = f"{plan.url}/projects/{plan.ids[0]}/edit"
    assert post(plan.committee, edit, {"title": "东门无障碍坡道", "cost": "75000",
                                       "description": "", "item_id": "", "category": "",
                                       "site_id": "",
                                       "funding": "社区经费", "responsible": "居委会",
                                       "timeline": "2027年"}, page=edit).status_code == 303
    versions = text(plan.committee.get(f"{plan.url}/versions?a=1&b=2").get_data(as_text=True))
    assert "版本 2" in versions and "预估费用：60000.00 → 75000.00" in versions
    with app.app_context():
        assert db.session.scalar(select(PlanVersion.change).where(
            PlanVersion.number == 2)) == "保存了项目“东门无障碍坡道”"
    # Others may read it, not decide.
    resident = client_for(app, plan.resident)
    assert resident.get(f"{plan.url}/versions/1").status_code == 200
    assert resident.get(f"{plan.url}/decide").status_code == 403


def test_objections_are_taken_during_the_notice_only_and_answered_publicly(app, factory, at):
    plan = Decided(app, factory)
    assert plan.decide().status_code == 303
    assert post(plan.committee, f"{plan.url}/publish", page=plan.url).status_code == 303
    resident = client_for(app, plan.resident)
    notice_url = f"{plan.url}/notice"
    notice = text(resident.get(notice_url).get_data(as_text=True))
    assert "公示" in notice and "版本 1" in notice and "东门无障碍坡道" in notice
    objections = f"{plan.url}/objections"
    empty = post(resident, objections, {"project_id": str(plan.ids[2]), "reason": ""},
                 page=notice_url)
    assert empty.status_code == 422
    assert post(resident, objections, {"project_id": str(plan.ids[2]),
                                       "reason": "长椅应该先做，老人等了很久"},
                page=notice_url).status_code == 303
    assert post(resident, objections, {"project_id": str(plan.ids[2]),  # sent twice: one
                                       "reason": "长椅应该先做，老人等了很久"},
                page=notice_url).status_code == 303
    with app.app_context():
        objection = db.session.scalar(select(Objection))
        assert db.session.scalar(select(db.func.count()).select_from(Objection)) == 1
    outsider = client_for(app, plan.outsider)
    assert post(outsider, objections, {"project_id": str(plan.ids[2]), "reason": "外人"},
                page=notice_url).status_code == 403
    answered = post(plan.committee, f"{objections}/{objection.id}/answer",
                    {"answer": "明年第一季度优先安排"}, page=notice_url)
    assert answered.status_code == 303
    public = text(app.test_client().get(notice_url).get_data(as_text=True))
    assert "长椅应该先做" in public and "明年第一季度优先安排" in public
    assert "林阿婆" not in public  # who objected, only the committee sees
    assert "林阿婆" in text(plan.committee.get(notice_url).get_data(as_text=True))
    # A project removed during the notice can still be objected to, by its title.
    delete = f"{plan.url}/projects/{plan.ids[0]}/delete"
    assert post(plan.committee, delete, page=delete).status_code == 303
    assert post(resident, objections, {"project_id": str(plan.ids[0]),
                                       "reason": "坡道不该删"}, page=notice_url
                ).status_code == 303
    assert "坡道不该删" in text(app.test_client().get(notice_url).get_data(as_text=True))
    # After the period (a setting, 7 days by default) the plan is final.
    at(utcnow() + timedelta(days=app.config["PLAN_NOTICE_DAYS"], minutes=1))
    late = post(resident, objections, {"project_id": str(plan.ids[0]), "reason": "太晚了"},
                page=notice_url)
    assert late.status_code == 403 and "公示期间" in late.get_data(as_text=True)
    assert "公示期已于" in text(app.test_client().get(notice_url).get_data(as_text=True))


def test_exports_equal_the_version_page_and_neutralise_formulas(app, factory):
    plan = Decided(app, factory)
    assert plan.decide().status_code == 303
    base = f"{plan.url}/versions/1/list"
    visitor = app.test_client()
    page = visitor.get(f"{plan.url}/versions/1").get_data(as_text=True)
    shown = re.findall(r'<tr id="vp-\d+">\s*<th scope="row"[^>]*>([^<]+)', page)
    assert [t.replace("&#34;", '"') for t in shown] == [
        "东门无障碍坡道", '=HYPERLINK("http://evil.example","点我")', "3号楼后长椅"]

    response = visitor.get(f"{base}.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    response.close()
    rows = list(book["项目"].iter_rows(values_only=True))
    assert "方案" in rows[0][0] and "版本 1" in rows[0][0]
    assert rows[1][:3] == ("排序", "项目", "决议")
    assert [r[1] for r in rows[2:]] == ["东门无障碍坡道",
                                        "'=HYPERLINK(\"http://evil.example\",\"点我\")",
                                        "3号楼后长椅"]
    assert [r[2] for r in rows[2:]] == ["采纳", "否决", "暂缓"]
    assert rows[2][3:6] == (3, 1, 0)
    meeting = list(book["委员会会议"].iter_rows(values_only=True))
    assert meeting[1] == ("出席委员", "4 / 5")
    book.close()

    streamed = visitor.get(f"{base}.csv")
    body = streamed.get_data(as_text=True)
    streamed.close()
    assert body.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert [r[1] for r in table[2:]] == [r[1] for r in rows[2:]]
    assert [r[2] for r in table[2:]] == ["采纳", "否决", "暂缓"]

    document = json.loads(visitor.get(f"{base}.json").get_data(as_text=True))
    assert document["schema"] == "linli.plan-decision-list/1"
    assert document["version"]["number"] == 1
    assert [p["title"] for p in document["projects"]][1].startswith("=HYPERLINK")  # data
    assert [p["decision"] for p in document["projects"]] == ["adopt", "reject", "defer"]
    assert document["projects"][0]["votes"] == {"for": 3, "against": 1, "abstain": 0}
    assert visitor.get(f"{base}.pdf").status_code == 404
    # The print view shows the same list, with a signature line for each member present.
    printed = text(visitor.get(f"{plan.url}/versions/1/print").get_data(as_text=True))
    assert printed.count("签名：") == 4 and "李委员" in printed
    assert [t for t in Decided.TITLES if t.replace('"', "&#34;") in printed
            or t in printed] == Decided.TITLES
    assert "5 名委员中出席 4 名" in printed


def test_a_decision_of_2000_projects_exports_in_bounded_queries(app, factory, count_queries):
    from sqlalchemy import insert

    from participation.plan.models import Project, ProjectSource

    plan = Decided(app, factory)
    with app.app_context():
        db.session.execute(insert(Project), [
            {"plan_id": plan.plan_id, "title": f"项目{i}", "score": Decimal(i % 50),
             "description": "", "funding": "", "responsible": "", "timeline": ""}
            for i in range(2000)])
        ids = list(db.session.scalars(select(Project.id)))
        db.session.execute(insert(ProjectSource), [
            {"plan_id": plan.plan_id, "project_id": ids[i % len(ids)], "kind": "proposal",
             "ref": str(i), "title": f"提议{i}", "detail": "", "signal": Decimal(1)}
            for i in range(20000)])
        db.session.commit()
        user = db.session.get(type(plan.chair), plan.chair.id)
        with count_queries() as freezing:
            rows = ops.snapshot(db.session.get(Plan, plan.plan_id))
        assert len(rows) == 2003 and sum(len(r["sources"]) for r in rows) == 20000
        assert freezing.count <= 4
        del user
