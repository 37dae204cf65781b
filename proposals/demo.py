"""The proposals area's part of the demo community: a micro-space consultation whose residents
have proposed and whose planner has shortlisted (the ballots' part adds the vote open now), and
fresh proposals in the consultation collecting ideas now, for a newcomer to support."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from participation.clock import utcnow
from participation.consultations.models import Consultation, Phase
from participation.demo import OPEN_TITLE
from participation.extensions import db
from participation.plan.models import Site

from .models import Proposal, Support

TITLE = "3号楼后空地微改造"
PROPOSALS = [
    # author login, title, checklist item, site, cost, status, reason
    ("13900000001", "3号楼后加几张带靠背的长椅", "cc12", "3号楼后空地", 8000, "accepted", None),
    ("13900000002", "空地一角种社区花园", "other", "3号楼后空地东侧", 12000, "accepted", None),
    ("13900000003", "给孩子们装一组小滑梯", "cc12", "3号楼后空地西侧", 30000, "accepted", None),
    ("13900000002", "改成停车位", "other", "3号楼后空地", 50000, "rejected",
     "空地属于消防通道，不能改作停车位。"),
]


def _site_of(community, where: str) -> int | None:
    """The site of the demo's inventory that a proposal's "where" names, if any."""
    sites = db.session.execute(select(Site.id, Site.name)
                               .where(Site.community_id == community.id)).all()
    return next((i for i, name in sites if where.startswith(name)), None)


# In the consultation collecting ideas now: 小郑妈妈 (13900000003) has supported neither yet.
OPEN_PROPOSALS = [
    ("13900000001", "架空层清出来，放几张桌椅给老人下棋", "cc12", "2号楼架空层东半边", 6000,
     ["13900000002"]),
    ("13900000002", "架空层西半边做儿童雨天游戏角", "other", "2号楼架空层西半边", 15000, []),
]


def seed(community, users: dict) -> None:
    seed_open_proposals(community, users)
    if db.session.scalar(select(Consultation.id).where(
            Consultation.community_id == community.id, Consultation.title == TITLE)):
        return
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    planner = users["planner@linli.example"]
    consultation = Consultation(
        community_id=community.id, template="micro_space", title=TITLE,
        created_by_id=planner.id,
        description="3号楼后的空地闲置多年。居民提出了改造方案，责任规划师已答复，"
                    "现在请每户投票选出最多两项。")
    consultation.phases = [
        Phase(kind="collect", starts_at=now - timedelta(days=35), ends_at=now - timedelta(days=14)),
        Phase(kind="deliberate", starts_at=now - timedelta(days=14), ends_at=now - timedelta(days=1)),
        Phase(kind="vote", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=6)),
        Phase(kind="results", starts_at=now + timedelta(days=6), ends_at=now + timedelta(days=20)),
    ]
    db.session.add(consultation)
    db.session.flush()
    for login, title, category, site, cost, status, reason in PROPOSALS:
        proposal = Proposal(consultation_id=consultation.id, author_id=users[login].id,
                            title=title, category=category, site=site,
                            site_id=_site_of(community, site),
                            estimated_cost=Decimal(cost), status=status, reason=reason,
                            description="", submitted_at=now - timedelta(days=20))
        db.session.add(proposal)
        db.session.flush()
        for supporter in ("13900000001", "13900000002", "13900000003"):
            if supporter != login:
                db.session.add(Support(proposal_id=proposal.id, user_id=users[supporter].id))


def seed_open_proposals(community, users: dict) -> None:
    consultation = db.session.scalar(select(Consultation).where(
        Consultation.community_id == community.id, Consultation.title == OPEN_TITLE))
    if consultation is None or db.session.scalar(
            select(Proposal.id).where(Proposal.consultation_id == consultation.id)):
        return
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for login, title, category, site, cost, supporters in OPEN_PROPOSALS:
        proposal = Proposal(consultation_id=consultation.id, author_id=users[login].id,
                            title=title, category=category, site=site,
                            site_id=_site_of(community, site),
                            estimated_cost=Decimal(cost), status="evaluating",
                            description="", submitted_at=now - timedelta(days=2))
        db.session.add(proposal)
        db.session.flush()
        db.session.add_all(Support(proposal_id=proposal.id, user_id=users[s].id)
                           for s in supporters)
