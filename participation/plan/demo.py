"""The demo community's checkup (a round under way, with gaps), its inventory of sites pinned
on a site plan drawn here, and a plan built from its gaps, proposals and ballot results, put to
residents, decided by the committee and now under public notice, with one objection answered
and the first update on its first project."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

from PIL import Image, ImageDraw
from flask import current_app, url_for
from sqlalchemy import select

from participation.clock import utcnow
from participation.extensions import db

from participation.registries import plan_sources

from . import operations as ops
from .models import Checkup, CheckupEntry, Plan, Project, Site, SitePlan

# item, state, measured value, note
FINDINGS = [
    ("cc01", "insufficient", "650", "社区综合服务站在居委会二楼，共四间，约650平方米。"),
    ("cc02", "present", "2400", "金榜幼儿园，8个班。"),
    ("cc03", "missing", None, "社区内没有托育机构，最近的在两公里外。"),
    ("cc04", "insufficient", None, "老年服务站只有一间活动室，没有助餐。"),
    ("cc05", "present", "160", "社区卫生服务站在5号楼底层。"),
    ("cc07", "insufficient", "1", "只有一个快递柜，取件要排长队。"),
    ("cc10", "insufficient", "0.3", "老小区没有地下车库，夜间停车困难。"),
    ("cc12", "missing", None, "多栋楼入口没有坡道，轮椅进不去。"),
]


# name, kind, area, owner, state, pin (x, y in % of the plan)
SITES = [
    ("3号楼后空地", "idle_land", "320", "金榜社区居委会", "闲置多年，杂草丛生", (62, 58)),
    ("2号楼架空层", "public_space", "180", "物业公司", "堆放杂物，白天有老人乘凉", (30, 30)),
    ("东门边角地", "micro_space", "45", "物业公司", "被电动车占用", (88, 80)),
    ("社区老年活动室", "public_facility", "60", "金榜社区居委会", "只有一间，没有助餐", (18, 72)),
]
PLAN_SIZE = (1200, 800)
# Buildings of the drawn plan: (left, top, right, bottom) in pixels.
BUILDINGS = [(120, 120, 420, 260), (560, 120, 860, 260), (560, 360, 860, 520),
             (120, 420, 420, 580)]


def _site_plan_image() -> bytes:
    """A schematic plan: lawns, paths and four buildings, as a planner might sketch them."""
    image = Image.new("RGB", PLAN_SIZE, "#eef3e8")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 330, PLAN_SIZE[0], 350), fill="#d9d4c7")  # the main path
    draw.rectangle((480, 0, 500, PLAN_SIZE[1]), fill="#d9d4c7")
    for box in BUILDINGS:
        draw.rectangle(box, fill="#c9ccd1", outline="#6b7280", width=4)
    draw.rectangle((640, 560, 860, 720), fill="#d7e8c5", outline="#7a9a5b", width=3)
    out = BytesIO()
    image.save(out, "PNG")
    out.seek(0)
    return out


def seed(community, users: dict) -> None:
    seed_sites(community)
    if db.session.scalar(select(Checkup.id).where(Checkup.community_id == community.id)):
        return
    committee = users.get("13800000001")
    checkup = Checkup(community_id=community.id, started_at=utcnow() - timedelta(days=20),
                      started_by_id=committee.id if committee else None)
    db.session.add(checkup)
    db.session.flush()
    checked_on = (utcnow() - timedelta(days=18)).date()
    db.session.add_all(CheckupEntry(
        checkup_id=checkup.id, item_id=item, state=state,
        value=None if value is None else Decimal(value), note=note, checked_on=checked_on,
        checked_by_id=committee.id if committee else None)
        for item, state, value, note in FINDINGS)


def seed_sites(community) -> None:
    if db.session.get(SitePlan, community.id) is not None:
        return
    from participation.uploads import save_image

    db.session.add(SitePlan(community_id=community.id, image=save_image(_site_plan_image(),
                                                                        "sites"),
                            width=PLAN_SIZE[0], height=PLAN_SIZE[1]))
    db.session.add_all(Site(community_id=community.id, name=name, kind=kind,
                            area_m2=Decimal(area), owner=owner, state=state,
                            x=Decimal(x), y=Decimal(y))
                       for name, kind, area, owner, state, (x, y) in SITES)
    db.session.flush()


PLAN_TITLE = "2027 年度社区更新方案"
# The gaps the demo's plan takes up, with what the planner filled in: cost, funding, timeline.
PLANNED_GAPS = [
    ("cc12", 60000, "老旧小区改造资金", "2027年上半年"),
    ("cc03", 150000, "街道专项资金 + 社会资本", "2027年内选址，2028年开办"),
    ("cc04", 40000, "社区微更新经费", "2027年第三季度"),
]
# Residents' responses to the draft: (login, the project's checklist item, stance, comment).
RESPONSES = [
    ("13900000001", "cc12", "support", "我家老伴坐轮椅，坡道最要紧。"),
    ("13900000002", "cc12", "support", ""),
    ("13900000003", "cc03", "object", "先把现有的老年活动室办好，托儿所可以放到后年。"),
]


# The draft's review (14 days) began this many days ago; the committee met after it, and put
# the decided list under public notice, which still runs.
REVIEW_BEGAN, DECIDED, PUBLISHED = 20, 4, 3
# The committee's decision, by checklist item (the rest is adopted): outcome, rationale.
DECISIONS = {"cc03": ("defer", "先办好现有的老年服务站；托育选址明年再议。")}
OBJECTION = ("13900000003", "cc03", "托育所不该推迟，双职工家庭每天接送孩子很难。",
             "居委会明年一季度重新调查托育需求，并请街道协调场地，结果在这里公布。")
FIRST_UPDATE = ("design", 20, "刘规划师已完成现场踏勘，坡道设计方案正在征求轮椅使用者的意见。")


def seed_plan(community, users: dict) -> None:
    """The draft plan: projects from three checklist gaps, from the proposals most supported
    and from the finished ballot's options (merged with their proposals), put to residents."""
    if db.session.scalar(select(Plan.id).where(Plan.community_id == community.id)):
        return
    planner = users["planner@linli.example"]
    with current_app.test_request_context("/"):
        plan = ops.create_plan(planner, community, PLAN_TITLE)
        for item, cost, funding, timeline in PLANNED_GAPS:
            project = ops.project_from_source(planner, plan, "gap", item)
            project.cost, project.funding, project.timeline = Decimal(cost), funding, timeline
            project.responsible = "金榜社区居委会"
        by_proposal = {}
        if "proposal" in plan_sources:
            for candidate in plan_sources["proposal"].candidates(community, "")[:3]:
                project = ops.project_from_source(planner, plan, "proposal", candidate.ref)
                by_proposal[candidate.title] = project
        if "ballot" in plan_sources:
            for candidate in plan_sources["ballot"].candidates(community, ""):
                project = by_proposal.get(candidate.title)
                if project is None:
                    project = ops.project_from_source(planner, plan, "ballot", candidate.ref)
                    by_proposal[candidate.title] = project
                else:
                    ops.add_source(planner, project, "ballot", candidate.ref)
        consultation = ops.put_to_residents(
            planner, plan, utcnow() - timedelta(days=REVIEW_BEGAN),
            lambda c: url_for("consultations.consultation", community_id=community.id,
                              consultation_id=c.id))
        consultation.description = ("《2027 年度社区更新方案》草案已经列出，请逐项说说支持还是"
                                    "反对、为什么。意见会计入每个项目的优先级。")
        projects = db.session.scalars(select(Project).where(Project.plan_id == plan.id)).all()
        for login, item, stance, comment in RESPONSES:
            project = next((p for p in projects if p.item_id == item), None)
            if project is not None and login in users:
                ops.respond(users[login], project, stance, comment)
        db.session.flush()
        _decide_and_publish(community, plan, users)


def _decide_and_publish(community, plan: Plan, users: dict) -> None:
    """The committee decides the list after the review, publishes it for objections, answers
    the one objection filed; the ramp, first adopted, has its first update."""
    chair = users["13800000001"]
    now = utcnow()
    projects = db.session.scalars(select(Project).where(Project.plan_id == plan.id)
                                  .order_by(Project.score.desc(), Project.id)).all()
    size = ops.committee_size(community)
    outcomes = {}
    for project in projects:
        outcome, rationale = DECISIONS.get(project.item_id or "", ("adopt", ""))
        outcomes[project.id] = (outcome, size, 0, 0, rationale)
    ops.decide(chair, plan, held_on=(now - timedelta(days=DECIDED)).date(),
               members_present="陈主任\n黄委员", present=size, size=size, outcomes=outcomes,
               now=now - timedelta(days=DECIDED))
    ops.publish(chair, plan, now - timedelta(days=PUBLISHED),
                current_app.config["PLAN_NOTICE_DAYS"],
                lambda p: url_for("plan.notice", community_id=community.id, plan_id=p.id))
    login, item, reason, answer = OBJECTION
    target = next((p for p in projects if p.item_id == item), None)
    if target is not None and login in users:
        objection = ops.object_to(users[login], plan, target.id, reason,
                                  now - timedelta(days=2))
        ops.answer_objection(chair, objection, answer, now - timedelta(days=1))
    ramp = next((p for p in projects if p.item_id == "cc12"), None)
    if ramp is not None:
        status, percent, text = FIRST_UPDATE
        ops.post_update(users["planner@linli.example"], ramp,
                        on=(now - timedelta(days=1)).date(), status=status, percent=percent,
                        text=text, cancel_reason="", photos=[],
                        url=url_for("plan.project", community_id=community.id,
                                    plan_id=plan.id, project_id=ramp.id, _anchor="progress"))
    db.session.flush()
