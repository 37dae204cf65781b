"""The street's or district's view of all its communities at once: how complete each is by the
checklist, its open consultations, where its plan stands and how far the adopted projects have
come, and the gaps most common across communities. Every figure is read for a page of
communities at a time, in a fixed number of queries."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from participation.communities.models import Community
from participation.consultations.models import Consultation, Phase
from participation.extensions import db
from participation.standards import checklist

from .models import (Checkup, CheckupEntry, Plan, PlanDecision, PlanVersion, Project,
                     ProjectDecision)
from .operations import WEIGHTS, plan_state

GAP_STATES = ("missing", "insufficient")
PLAN_STATES = ("none", "draft", "decided", "notice", "final")


@dataclass
class CommunityFigures:
    community: Community
    checked: int = 0  # items of the checklist the current checkup has a finding for
    completeness: Decimal = Decimal(0)  # percent, weighted as on the checkup's page
    open_consultations: int = 0
    plan: Plan | None = None
    plan_state: str = "none"
    adopted: int = 0
    progress: int = 0  # mean percent of the adopted projects not cancelled


def communities(street: str, now):
    """The communities shown, in the order shown (optionally those of one street), each with
    its number of open consultations (open: between its first phase's start and its last
    phase's end)."""
    first = select(func.min(Phase.starts_at)).where(Phase.consultation_id == Consultation.id)
    last = select(func.max(Phase.ends_at)).where(Phase.consultation_id == Consultation.id)
    open_ = (select(func.count(Consultation.id))
             .where(Consultation.community_id == Community.id,
                    first.scalar_subquery() <= now, last.scalar_subquery() > now)
             .scalar_subquery())
    query = select(Community, open_).order_by(Community.district, Community.street,
                                              Community.name, Community.id)
    return query.where(Community.street == street) if street else query


def streets() -> dict[str, int]:
    """Every street, with how many communities it has."""
    return dict(db.session.execute(select(Community.street, func.count())
                                   .group_by(Community.street).order_by(Community.street)).all())


def _current_checkups(ids=None):
    """Each community's current checkup (its newest) as (community_id, checkup id)."""
    ranked = select(Checkup.community_id, Checkup.id, func.row_number().over(
        partition_by=Checkup.community_id,
        order_by=(Checkup.started_at.desc(), Checkup.id.desc())).label("rank"))
    if ids is not None:
        ranked = ranked.where(Checkup.community_id.in_(ids))
    ranked = ranked.subquery()
    return select(ranked.c.community_id, ranked.c.id).where(ranked.c.rank == 1).subquery()


def figures(page: list, now) -> list[CommunityFigures]:
    """The figures of these (community, open consultations) rows: three more queries,
    whatever their number."""
    rows = {c.id: CommunityFigures(c, open_consultations=n) for c, n in page}
    ids = list(rows)
    if not ids:
        return []
    _, items = checklist()
    known = {item.id for item in items}
    current = _current_checkups(ids)
    weight: dict[int, Decimal] = {}
    for community_id, item_id, state in db.session.execute(
            select(current.c.community_id, CheckupEntry.item_id, CheckupEntry.state)
            .join(CheckupEntry, CheckupEntry.checkup_id == current.c.id)):
        if item_id in known:
            rows[community_id].checked += 1
            weight[community_id] = weight.get(community_id, Decimal(0)) + WEIGHTS[state]
    for community_id, total in weight.items():
        rows[community_id].completeness = (total * 100 / len(items)).quantize(Decimal("0.1"))
    _plans(rows, ids, now)
    return [rows[i] for i in ids]


def _plans(rows: dict[int, CommunityFigures], ids: list[int], now) -> None:
    """Each community's newest plan, where it stands, and its adopted projects' progress
    (cancelled projects left out of the mean): one query."""
    # The plan being carried out (the newest one decided), else the newest draft.
    decided = select(PlanDecision.plan_id, func.max(PlanDecision.id).label("decision_id")) \
        .join(Plan, Plan.id == PlanDecision.plan_id).where(Plan.community_id.in_(ids)) \
        .group_by(PlanDecision.plan_id).subquery()
    ranked = select(Plan.id, func.row_number().over(
        partition_by=Plan.community_id,
        order_by=(decided.c.decision_id.is_(None), Plan.created_at.desc(), Plan.id.desc()))
        .label("rank")).outerjoin(decided, decided.c.plan_id == Plan.id).where(
        Plan.community_id.in_(ids)).subquery()
    newest = select(PlanVersion.plan_id, func.max(PlanVersion.number).label("number")) \
        .join(ranked, (ranked.c.id == PlanVersion.plan_id) & (ranked.c.rank == 1)) \
        .group_by(PlanVersion.plan_id).subquery()
    adopted = (select(ProjectDecision.decision_id,
                      func.count(Project.id).label("adopted"),
                      func.coalesce(func.sum(Project.progress).filter(
                          Project.status != "cancelled"), 0).label("done"),
                      func.count(Project.id).filter(Project.status != "cancelled")
                      .label("going"))
               .join(ProjectDecision, ProjectDecision.project_id == Project.id)
               .join(decided, decided.c.decision_id == ProjectDecision.decision_id)
               .where(ProjectDecision.outcome == "adopt")
               .group_by(ProjectDecision.decision_id).subquery())
    for plan, number, count, done, going in db.session.execute(
            select(Plan, newest.c.number, adopted.c.adopted, adopted.c.done, adopted.c.going)
            .join(ranked, ranked.c.id == Plan.id)
            .outerjoin(decided, decided.c.plan_id == Plan.id)
            .outerjoin(newest, newest.c.plan_id == Plan.id)
            .outerjoin(adopted, adopted.c.decision_id == decided.c.decision_id)
            .where(ranked.c.rank == 1)):
        row = rows[plan.community_id]
        row.plan = plan
        row.plan_state = plan_state(plan, number, now)
        row.adopted = count or 0
        row.progress = round(int(done) / going) if going else 0


@dataclass
class CommonGap:
    item_id: str
    communities: int
    missing: int
    insufficient: int


def common_gaps(street: str = "", limit: int = 10) -> list[CommonGap]:
    """The checklist items most often found missing or insufficient by the communities'
    current checkups."""
    current = _current_checkups(select(Community.id).where(Community.street == street)
                                if street else None)
    statement = (select(CheckupEntry.item_id, func.count(),
                        func.count().filter(CheckupEntry.state == "missing"),
                        func.count().filter(CheckupEntry.state == "insufficient"))
                 .join(current, current.c.id == CheckupEntry.checkup_id)
                 .where(CheckupEntry.state.in_(GAP_STATES),
                        CheckupEntry.item_id.in_([item.id for item in checklist()[1]]))
                 .group_by(CheckupEntry.item_id)
                 .order_by(func.count().desc(), CheckupEntry.item_id).limit(limit))
    return [CommonGap(*row) for row in db.session.execute(statement)]


def page_of(street: str, now, page: int, per_page: int) -> list[CommunityFigures]:
    rows = db.session.execute(communities(street, now).limit(per_page)
                              .offset((page - 1) * per_page)).all()
    return figures(rows, now)


def all_figures(street: str, now, batch: int = 200) -> Iterator[CommunityFigures]:
    """Every community's figures, a batch at a time (for the spreadsheet)."""
    number = 1
    while rows := page_of(street, now, number, batch):
        yield from rows
        number += 1
