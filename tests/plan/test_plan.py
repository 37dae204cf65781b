"""The plan's project list, built from every registered source: checklist gaps, proposals with
their supports, ballot results, meeting decisions, and any source an area registers. Each
project's priority score is the sum of weight × signal over its sources, with the plan's
weights, which change only with a reason."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from participation.audit.models import AuditEvent
from participation.clock import utcnow
from participation.communities.models import Community
from participation.extensions import db
from participation.meetings.models import AgendaItem, Meeting
from participation.plan import operations as ops
from participation.plan.models import Plan, Project, ProjectSource
from participation.policy import Role
from participation.registries import PlanSource, SourceItem, plan_sources
from proposals.models import Support
from tests.conftest import client_for, post
from tests.proposals.ballots.test_ballots import Vote


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def project_rows(page: str) -> list[tuple[str, str]]:
    """(title, score) of each row of the plan's project table, in order."""
    return [(title, score) for title, score in re.findall(
        r'<tr id="project-\d+">\s*<th scope="row"[^>]*><a [^>]+>([^<]+)</a></th>\s*'
        r'<td[^>]*>([^<]+)</td>', page)]


def from_source(client, community, plan_id, kind, ref) -> int:
    builder = f"/c/{community.id}/plans/{plan_id}/builder"
    response = post(client, f"/c/{community.id}/plans/{plan_id}/from-source",
                    {"kind": kind, "ref": ref}, page=builder)
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def add_source(client, community, plan_id, project_id, kind, ref):
    url = f"/c/{community.id}/plans/{plan_id}/projects/{project_id}"
    return post(client, f"{url}/sources", {"kind": kind, "ref": ref}, page=url)


class Seeded:
    """A community with checklist gaps, proposals with supports, a finished budget ballot and
    a published meeting's decision."""

    def __init__(self, app, factory, at):
        self.vote = vote = Vote(app, factory)
        self.community = vote.community
        self.app = app
        vote.setup(method="budget", budget="38000", max_choices="")
        # 长椅 8,000 / 凉亭 30,000 / 花坛 5,000 yuan; votes 3 / 1 / 2.
        for voter, choices in zip(vote.voters, [(0, 2), (0,), (2,), (0, 1)], strict=True):
            assert vote.vote(vote.client(voter), *choices).status_code == 303
        with app.app_context():
            community = db.session.get(Community, self.community.id)
            # Supports: 长椅 2, 凉亭 1, 花坛 0.
            db.session.add_all([Support(proposal_id=vote.proposals[0], user_id=vote.voters[1].id),
                                Support(proposal_id=vote.proposals[0], user_id=vote.voters[2].id),
                                Support(proposal_id=vote.proposals[1], user_id=vote.voters[3].id)])
            committee = db.session.get(type(vote.committee), vote.committee.id)
            checkup = ops.start_checkup(committee, community)
            for item, state in (("cc12", "missing"), ("cc04", "insufficient"),
                                ("cc01", "present")):
                ops.record_finding(committee, checkup, _item(item), state=state, value=None,
                                   note="", checked_on=utcnow().date(), photo=None,
                                   remove_photo=False)
            meeting = Meeting(community_id=community.id, title="三月议事会", place="居委会",
                              held_at=utcnow() - timedelta(days=3), published_at=utcnow())
            meeting.items.append(AgendaItem(position=1, title="3号楼后加装长椅",
                                            decision="同意加装，由居委会报街道"))
            meeting.items.append(AgendaItem(position=2, title="议程未决", decision=""))
            db.session.add(meeting)
            db.session.commit()
            self.agenda_item = meeting.items[0].id
        # The vote and the days for paper ballots are over: the results are final.
        at(utcnow() + timedelta(days=7 + app.config["PAPER_ENTRY_DAYS"]))
        self.planner = vote.client(vote.planner)

    def open_plan(self, title="2027 年度社区更新方案") -> int:
        url = f"/c/{self.community.id}/plans"
        response = post(self.planner, url, {"title": title}, page=url)
        assert response.status_code == 303
        return int(re.search(r"/plans/(\d+)/builder", response.headers["Location"]).group(1))


def _item(item_id):
    from participation.standards import item_names

    return item_names()[item_id]


def test_a_plan_built_from_every_source_scores_its_projects_by_hand_computed_values(
        app, factory, at):
    seeded = Seeded(app, factory, at)
    community, vote, planner = seeded.community, seeded.vote, seeded.planner
    plan_id = seeded.open_plan()
    builder = planner.get(f"/c/{community.id}/plans/{plan_id}/builder").get_data(as_text=True)
    for offered in ("清单缺口：无障碍设施", "清单缺口：老年服务站", "长椅", "凉亭", "花坛",
                    "3号楼后加装长椅"):
        assert offered in builder
    assert "清单缺口：社区综合服务站" not in builder  # present: not a gap
    assert "议程未决" not in builder  # no decision taken
    ballot = f"{vote.ballot_id}"
    ramp = from_source(planner, community, plan_id, "gap", "cc12")
    elderly = from_source(planner, community, plan_id, "gap", "cc04")
    # Ten proposals about one corner become one project: here a proposal, its ballot option
    # and the meeting's decision about it.
    bench = from_source(planner, community, plan_id, "proposal", str(vote.proposals[0]))
    assert add_source(planner, community, plan_id, bench, "ballot",
                      f"{ballot}:{vote.options[0]}").status_code == 303
    assert add_source(planner, community, plan_id, bench, "meeting",
                      str(seeded.agenda_item)).status_code == 303
    pavilion = from_source(planner, community, plan_id, "ballot", f"{ballot}:{vote.options[1]}")
    # The same source twice is refused calmly.
    again = add_source(planner, community, plan_id, bench, "meeting", str(seeded.agenda_item))
    assert again.status_code == 303
    assert "这一来源已经在方案中" in planner.get(again.headers["Location"]).get_data(as_text=True)

    with app.app_context():
        sources = {(s.project_id, s.kind): (s.signal, s.detail)
                   for s in db.session.scalars(select(ProjectSource))}
        assert len(sources) == 6
        assert sources[(ramp, "gap")] == (Decimal(2), "缺失")
        assert sources[(elderly, "gap")] == (Decimal(1), "不足")
        assert sources[(bench, "proposal")] == (Decimal(2), "2 人支持")
        signal, detail = sources[(bench, "ballot")]
        # Budget 38,000: by most votes 长椅 (8,000) and 花坛 (5,000) fit, 凉亭 (30,000) then
        # no longer does. By equal shares each voter holds 9,500: the three of 长椅 pay for
        # it; the one of 凉亭 holds 9,500 of its 30,000.
        assert signal == 3 and "3 票" in detail and "得票多者优先：获资助" in detail
        assert "平等份额法：获资助" in detail
        signal, detail = sources[(pavilion, "ballot")]
        assert signal == 1 and "得票多者优先：未获资助" in detail
        assert sources[(bench, "meeting")][0] == 1
        assert "同意加装" in sources[(bench, "meeting")][1]
        # Default weights: gap 10, proposal 1 per support, ballot 0.5 per vote, meeting 5.
        scores = dict(db.session.execute(select(Project.id, Project.score)).all())
        assert scores == {ramp: Decimal(20), elderly: Decimal(10),
                          bench: Decimal("8.5"),  # 1 × 2 + 0.5 × 3 + 5 × 1
                          pavilion: Decimal("0.5")}  # 0.5 × 1
        bench_title = db.session.get(Project, bench).title
    plan_url = f"/c/{community.id}/plans/{plan_id}"
    page = app.test_client().get(plan_url).get_data(as_text=True)  # public
    assert project_rows(page) == [("清单缺口：无障碍设施", "20"), ("清单缺口：老年服务站", "10"),
                                  (bench_title, "8.5"), ("凉亭", "0.5")]
    assert "10 × 缺口（缺失计 2，不足计 1）" in text(page)
    by_cost = app.test_client().get(f"{plan_url}?sort=cost").get_data(as_text=True)
    assert [t for t, _ in project_rows(by_cost)][:1] == ["凉亭"]  # 30,000 yuan, the dearest
    shown = text(app.test_client().get(f"{plan_url}/projects/{bench}").get_data(as_text=True))
    assert "1 × 2（居民提议） + 0.5 × 3（投票结果） + 5 × 1（议事会决定） = 8.5" in shown

    # The weights change only with a reason; what was typed stays.
    weights = f"{plan_url}/weights"
    form = {"w_gap": "10", "w_proposal": "1", "w_ballot": "2", "w_meeting": "5",
            "w_review": "1", "w_children": "1", "reason": ""}
    refused = post(planner, weights, form, page=weights)
    assert refused.status_code == 422
    assert 'value="2"' in refused.get_data(as_text=True)
    changed = post(planner, weights, {**form, "reason": "居民投票是最直接的意见，加重"},
                   page=weights)
    assert changed.status_code == 303
    page = app.test_client().get(plan_url).get_data(as_text=True)
    assert project_rows(page) == [("清单缺口：无障碍设施", "20"),
                                  (bench_title, "13"),  # 1 × 2 + 2 × 3 + 5 × 1
                                  ("清单缺口：老年服务站", "10"), ("凉亭", "2")]
    assert "2 × 票数（投票结果）" in text(page)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.weights"))
        assert event.details["reason"] == "居民投票是最直接的意见，加重"
        assert "0.5 → 2" in event.details["changes"]
    resident = client_for(app, vote.voters[0])
    assert post(resident, weights, {**form, "reason": "x"}, page=plan_url).status_code == 403

    # A source weighs in one project only: the gap of the ramp is not offered to another.
    elderly_url = f"{plan_url}/projects/{elderly}"
    offered = planner.get(f"{elderly_url}?kind=gap").get_data(as_text=True)
    assert "已列入方案的项目" in offered and "添加“清单缺口：无障碍设施”" not in offered
    twice = add_source(planner, community, plan_id, elderly, "gap", "cc12")
    assert "这一来源已经在方案中，在项目“清单缺口：无障碍设施”里" in planner.get(
        twice.headers["Location"]).get_data(as_text=True)
    # Removing a project asks first, then offers its sources again.
    delete = f"{plan_url}/projects/{pavilion}/delete"
    assert "要把“凉亭”从方案中移除吗？" in planner.get(delete).get_data(as_text=True)
    assert post(planner, delete, page=delete).status_code == 303
    assert "凉亭" not in [t for t, _ in project_rows(planner.get(plan_url).get_data(as_text=True))]
    builder = planner.get(f"{plan_url}/builder").get_data(as_text=True)
    assert "用“凉亭”生成项目" in builder and "用“长椅”生成项目" not in builder


def test_a_gap_becomes_a_project_in_one_step_from_the_checkup(app, factory):
    community = factory.community()
    committee = client_for(app, factory.user(community, Role.COMMITTEE))
    item_url = f"/c/{community.id}/checkup/items/cc12"
    assert post(committee, item_url, {"state": "missing", "checked_on": "2027-03-01"},
                page=item_url, content_type="multipart/form-data").status_code == 303
    checkup = f"/c/{community.id}/checkup"
    page = committee.get(checkup).get_data(as_text=True)
    assert "把“无障碍设施”列为方案项目" in page
    made = post(committee, f"{item_url}/project", page=checkup)  # no plan yet: one is opened
    assert made.status_code == 303
    project = committee.get(made.headers["Location"]).get_data(as_text=True)
    assert "清单缺口：无障碍设施" in project and "优先级得分：20" in project
    assert "已列入方案" in committee.get(checkup).get_data(as_text=True)
    with app.app_context():
        plan = db.session.scalar(select(Plan))
        assert re.fullmatch(r"\d{4} 年度社区更新方案", plan.title)
        assert db.session.scalar(select(Project.item_id)) == "cc12"
    # Once the gap is met, reading the sources again leaves it counting nothing, and says so.
    assert post(committee, item_url, {"state": "present", "checked_on": "2027-06-01"},
                page=item_url, content_type="multipart/form-data").status_code == 303
    plan_url = made.headers["Location"].split("/projects/")[0]
    refreshed = post(committee, f"{plan_url}/refresh", page=plan_url)
    assert "1 个有变化" in committee.get(refreshed.headers["Location"]).get_data(as_text=True)
    project = text(committee.get(made.headers["Location"]).get_data(as_text=True))
    assert "优先级得分：0" in project and "来源已不在：不再计分" in project
    # Something that is no gap is refused in words, nothing made.
    refused = post(committee, f"/c/{community.id}/checkup/items/cc01/project", page=checkup)
    assert "这一来源已经不在了" in committee.get(refused.headers["Location"]).get_data(
        as_text=True)


def test_a_source_registered_by_an_area_appears_in_the_builder(app, factory, monkeypatch):
    """The registry is what the builder offers: a source nobody in the core knows of."""
    item = SourceItem("w1", "孩子们画的秋千", Decimal(4), "4 张贴纸")
    monkeypatch.setitem(plan_sources, "dummy", PlanSource(
        "dummy", "孩子们的设计", "贴纸", Decimal(3),
        lambda community, query: [item] if query in item.title else [],
        lambda community, refs: {r: item for r in refs if r == "w1"}))
    community = factory.community()
    planner = client_for(app, factory.user(community, Role.PLANNER))
    url = f"/c/{community.id}/plans"
    plan_id = int(re.search(r"/plans/(\d+)/", post(planner, url, {"title": "方案"}, page=url)
                            .headers["Location"]).group(1))
    builder = planner.get(f"{url}/{plan_id}/builder").get_data(as_text=True)
    assert "孩子们的设计" in builder and "孩子们画的秋千" in builder and "4 张贴纸" in builder
    project = from_source(planner, community, plan_id, "dummy", "w1")
    page = text(planner.get(f"{url}/{plan_id}/projects/{project}").get_data(as_text=True))
    assert "3 × 4（孩子们的设计） = 12" in page  # its default weight × its signal
    assert "3 × 贴纸（孩子们的设计）" in page


def test_residents_respond_to_the_draft_and_it_feeds_the_score(app, factory, at):
    community = factory.community()
    planner = client_for(app, factory.user(community, Role.PLANNER))
    committee = factory.user(community, Role.COMMITTEE)
    resident = client_for(app, factory.user(community, Role.VERIFIED, display_name="林阿婆"))
    neighbour = client_for(app, factory.user(community, Role.VERIFIED))
    outsider = client_for(app, factory.user(factory.community(), Role.VERIFIED))
    with app.app_context():
        plan = ops.create_plan(db.session.get(type(committee), committee.id),
                               db.session.get(Community, community.id), "方案")
        project = ops.save_project(
            db.session.get(type(committee), committee.id), plan, None, title="东门坡道",
            description="", category=None, item_id=None, site_id=None, cost=None,
            funding="", responsible="", timeline="")
        db.session.commit()
        plan_id, project_id = plan.id, project.id
    plan_url = f"/c/{community.id}/plans/{plan_id}"
    project_url = f"{plan_url}/projects/{project_id}"
    respond = f"{project_url}/respond"
    assert post(resident, respond, {"stance": "support"}, page=project_url).status_code == 403
    consulted = post(planner, f"{plan_url}/consult", page=plan_url)
    assert consulted.status_code == 303
    consultation = planner.get(consulted.headers["Location"]).get_data(as_text=True)
    assert "草案：方案" in consultation and plan_url in consultation  # the panel links it
    again = post(planner, f"{plan_url}/consult", page=plan_url)  # calmly refused
    assert "草案已经征求过居民意见" in planner.get(again.headers["Location"]).get_data(
        as_text=True)
    # A resident supports with a comment; the project page lists it and the score follows.
    page = resident.get(project_url).get_data(as_text=True)
    assert "我支持这个项目" in page
    empty = post(resident, respond, {"stance": "", "comment": "坡道要防滑"}, page=project_url)
    assert empty.status_code == 422 and "坡道要防滑" in empty.get_data(as_text=True)
    assert post(resident, respond, {"stance": "support", "comment": "坡道要防滑"},
                page=project_url).status_code == 303
    assert post(neighbour, respond, {"stance": "object"}, page=project_url).status_code == 303
    assert post(neighbour, respond, {"stance": "support"}, page=project_url).status_code == 303
    newcomer = client_for(app, factory.user(community, Role.RESIDENT))
    assert "只有已认证居民可以对草案发表意见" in newcomer.get(project_url).get_data(as_text=True)
    listed = resident.get(plan_url).get_data(as_text=True)
    assert "我支持这个项目" in listed and "打开项目，说说您支持还是反对" in listed
    shown = text(app.test_client().get(project_url).get_data(as_text=True))
    assert "林阿婆" in shown and "坡道要防滑" in shown and "优先级得分：2" in shown
    assert "2 人支持，0 人反对" in shown
    assert post(outsider, respond, {"stance": "object"}, page=project_url).status_code == 403
    # After the review phase, responses are refused with the reason.
    at(utcnow() + timedelta(days=15))
    late = post(resident, respond, {"stance": "object"}, page=project_url)
    assert late.status_code == 403 and "征求意见期间" in late.get_data(as_text=True)


@pytest.mark.parametrize("path", ["checkup", "sites", "plan", "builder", "project", "site"])
def test_plan_pages_cost_the_same_queries_with_2000_projects_and_20000_sources(
        app, factory, count_queries, path):
    community = factory.community()
    planner = client_for(app, factory.user(community, Role.PLANNER))
    with app.test_request_context():  # a source's link is made with url_for
        user = db.session.get(type(factory.user()), 1)
        here = db.session.get(Community, community.id)
        checkup = ops.start_checkup(user, here)
        ops.record_finding(user, checkup, _item("cc12"), state="missing", value=None, note="",
                           checked_on=utcnow().date(), photo=None, remove_photo=False)
        site = ops.save_site(user, here, None, kind="micro_space", name="东门", area_m2=None,
                             owner="", state="", notes="", x=Decimal(10), y=Decimal(10),
                             photos=[], remove_photos=[])
        plan = ops.create_plan(user, here, "方案")
        first = ops.project_from_source(user, plan, "gap", "cc12")
        first.site_id = site.id
        # Sources of every kind the large plan has, so that only their number grows.
        db.session.add_all(ProjectSource(plan_id=plan.id, project_id=first.id, kind=kind,
                                         ref="999999", title=kind, signal=Decimal(1))
                           for kind in ("proposal", "meeting"))
        db.session.commit()
        ids = {"plan_id": plan.id, "project_id": first.id, "site_id": site.id}
    urls = {"checkup": "/c/{c}/checkup", "sites": "/c/{c}/sites",
            "plan": "/c/{c}/plans/{plan_id}", "builder": "/c/{c}/plans/{plan_id}/builder",
            "project": "/c/{c}/plans/{plan_id}/projects/{project_id}",
            "site": "/c/{c}/sites/{site_id}"}
    url = urls[path].format(c=community.id, **ids)
    planner.get(url)
    with count_queries() as small:
        assert planner.get(url).status_code == 200
    with app.app_context():
        db.session.execute(insert(Project), [
            {"plan_id": ids["plan_id"], "title": f"项目{i}", "score": Decimal(i % 97),
             "site_id": ids["site_id"], "category": "basic_public_services",
             "cost": Decimal(i * 10), "description": "", "funding": "", "responsible": "",
             "timeline": ""} for i in range(2000)])
        project_ids = list(db.session.scalars(select(Project.id)))
        db.session.execute(insert(ProjectSource), [
            {"plan_id": ids["plan_id"], "project_id": project_ids[i % len(project_ids)],
             "kind": "proposal", "ref": str(i), "title": f"提案{i}", "detail": "",
             "signal": Decimal(i % 7)} for i in range(20000)])
        db.session.execute(insert(ProjectSource), [
            {"plan_id": ids["plan_id"], "project_id": ids["project_id"], "kind": "meeting",
             "ref": str(i), "title": f"决定{i}", "detail": "", "signal": Decimal(1)}
            for i in range(300)])
        db.session.commit()
    planner.get(url)
    with count_queries() as large:
        assert planner.get(url).status_code == 200
    assert large.count == small.count, (small.count, large.count)
    # The builder asks each source it offers once (five: gaps, proposals, children's
    # favourites, ballots, meetings); a project's page each of its own sources.
    assert large.count <= {"builder": 10, "project": 9}.get(path, 8), large.statements


def test_the_demo_community_has_a_plan_reviewed_decided_and_under_notice(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0  # still one plan
    with app.app_context():
        plan = db.session.scalar(select(Plan))
        kinds = set(db.session.scalars(select(ProjectSource.kind)))
        assert db.session.scalar(select(func.count()).select_from(Plan)) == 1
        assert {"gap", "proposal", "ballot", "review"} <= kinds
        assert plan.consultation_id is not None
    visitor = app.test_client()
    page = visitor.get(f"/c/{plan.community_id}/plans/{plan.id}").get_data(as_text=True)
    rows = project_rows(page)
    assert rows[0][0] == "清单缺口：无障碍设施"  # missing, and two residents support it
    assert len(rows) >= 6 and "优先级得分怎么算" in page
    consultation = visitor.get(f"/c/{plan.community_id}/consultations/{plan.consultation_id}")
    assert "阅读方案草案" in consultation.get_data(as_text=True)
    # Decided after the review, under public notice, one objection answered; the public page
    # of the plan links the decided list's downloads and shows the first update.
    notice = visitor.get(f"/c/{plan.community_id}/plans/{plan.id}/notice").get_data(as_text=True)
    assert "可以对项目提出异议" in notice or "公示" in notice
    assert "托育所不该推迟" in notice and "居委会明年一季度重新调查托育需求" in notice
    public = visitor.get(f"/c/{plan.community_id}/our-plan").get_data(as_text=True)
    for fmt in ("xlsx", "csv", "json"):
        assert f"/plans/{plan.id}/versions/1/list.{fmt}" in public
    assert "设计中" in public and "无障碍设施" in public
    xlsx = visitor.get(f"/c/{plan.community_id}/plans/{plan.id}/versions/1/list.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    xlsx.close()


def test_odd_sources_and_double_clicks_are_answered_calmly(app, factory):
    from tests.conftest import click_together

    community = factory.community()
    planner = client_for(app, factory.user(community, Role.PLANNER))
    item_url = f"/c/{community.id}/checkup/items/cc12"
    assert post(planner, item_url, {"state": "missing", "checked_on": "2027-03-01"},
                page=item_url, content_type="multipart/form-data").status_code == 303
    checkup = f"/c/{community.id}/checkup"
    # Six clicks at once on "make it a project": one plan, one project.
    statuses = click_together(app, planner, f"{item_url}/project", checkup)
    assert sorted(set(statuses)) == [303]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plan)) == 1
        assert db.session.scalar(select(func.count()).select_from(Project)) == 1
        plan_id, project_id = db.session.execute(select(Project.plan_id, Project.id)).one()
    # Refs no source has, kinds nobody registered, the draft's review of another project:
    # refused in words, never a 500.
    for kind, ref in [("meeting", "²"), ("proposal", "99999999999"), ("ballot", "²:1"),
                      ("meeting", "9" * 25), ("review", str(project_id)), ("nope", "1"),
                      ("gap", "cc99")]:
        response = add_source(planner, community, plan_id, project_id, kind, ref)
        assert response.status_code == 303, (kind, ref)
        assert "这一来源已经不在了" in planner.get(response.headers["Location"]).get_data(
            as_text=True), (kind, ref)
    # Putting the draft to residents twice at once opens one consultation.
    plan_url = f"/c/{community.id}/plans/{plan_id}"
    assert sorted(set(click_together(app, planner, f"{plan_url}/consult", plan_url))) == [303]
    with app.app_context():
        from participation.consultations.models import Consultation

        assert db.session.scalar(select(func.count()).select_from(Consultation)) == 1
    # A weight that is not a finite number, or too precise to show exactly, is refused.
    weights = f"{plan_url}/weights"
    for weight in ("sNaN", "Infinity", "0.001"):
        refused = post(planner, weights, {"w_gap": weight, "w_proposal": "1", "w_ballot": "1",
                                          "w_meeting": "1", "w_review": "1", "reason": "试试"},
                       page=weights)
        assert refused.status_code == 422, weight
