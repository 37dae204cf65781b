"""The ballots' part of the demo community: an approval vote, open now, over the proposals the
planner shortlisted in the demo's micro-space consultation, and a vote that ended last month,
cast online and on paper, whose results are out."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update

from participation.clock import utcnow
from participation.communities.models import Household, Membership
from participation.consultations.models import Consultation, Phase
from participation.extensions import db
from proposals.demo import TITLE
from proposals.models import Proposal

from . import operations as ops
from .models import Ballot, BallotOption, RegisterEntry


def seed(community, users: dict) -> None:
    seed_finished_vote(community, users)
    consultation = db.session.scalar(select(Consultation).where(
        Consultation.community_id == community.id, Consultation.title == TITLE))
    if consultation is None or db.session.scalar(
            select(Ballot.id).where(Ballot.consultation_id == consultation.id)):
        return
    vote = next(p for p in consultation.phases if p.kind == "vote")
    shortlisted = db.session.scalars(
        select(Proposal).where(Proposal.consultation_id == consultation.id,
                               Proposal.status == "accepted").order_by(Proposal.id)).all()
    ballot = Ballot(consultation_id=consultation.id, phase_id=vote.id,
                    title="3号楼后空地：选出最多两项", method="approval", max_choices=2,
                    budget=Decimal(40000), eligibility="household", secrecy="open",
                    preset="residents_meeting", results_live=True,
                    created_by_id=users["planner@linli.example"].id)
    ballot.options = [BallotOption(proposal_id=p.id, position=i, cost=p.estimated_cost)
                      for i, p in enumerate(shortlisted)]
    db.session.add(ballot)
    db.session.flush()


FINISHED_TITLE = "东门自行车棚改造"
FINISHED_PROPOSALS = [
    ("13900000001", "加顶棚和照明，棚内划线停放", 18000),
    ("13900000002", "改成带充电桩的电动自行车棚", 36000),
    ("13900000003", "拆掉车棚，改成口袋花园", 25000),
]
# How the paper ballots collected door to door fell, by option (the demo's own figures).
PAPER_VOTES = [0] * 27 + [1] * 16 + [2] * 7


def seed_finished_vote(community, users: dict) -> None:
    if db.session.scalar(select(Consultation.id).where(
            Consultation.community_id == community.id, Consultation.title == FINISHED_TITLE)):
        return
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    planner, clerk = users["planner@linli.example"], users["13800000001"]
    consultation = Consultation(
        community_id=community.id, template="micro_space", title=FINISHED_TITLE,
        created_by_id=planner.id, sites="东门自行车棚",
        description="东门的自行车棚漏雨、没有照明。居民提出了三个方案，上个月每户投票选定一个。")
    days = [-70, -45, -33, -26, 14]
    consultation.phases = [
        Phase(kind=kind, starts_at=now + timedelta(days=start),
              ends_at=now + timedelta(days=end))
        for kind, start, end in zip(("collect", "deliberate", "vote", "results"), days,
                                    days[1:], strict=False)]
    db.session.add(consultation)
    db.session.flush()
    proposals = []
    for login, title, cost in FINISHED_PROPOSALS:
        proposal = Proposal(consultation_id=consultation.id, author_id=users[login].id,
                            title=title, category="other", site="东门自行车棚",
                            estimated_cost=Decimal(cost), status="accepted", description="",
                            submitted_at=now + timedelta(days=-60))
        db.session.add(proposal)
        proposals.append(proposal)
    db.session.flush()
    vote = next(p for p in consultation.phases if p.kind == "vote")
    ballot = Ballot(consultation_id=consultation.id, phase_id=vote.id,
                    title="东门自行车棚：选一个方案", method="single", eligibility="household",
                    secrecy="open", preset="residents_meeting", results_live=False,
                    created_by_id=planner.id)
    ballot.options = [BallotOption(proposal_id=p.id, position=i, cost=p.estimated_cost)
                      for i, p in enumerate(proposals)]
    db.session.add(ballot)
    db.session.flush()
    options = [o.id for o in ballot.options]
    voted = set()
    for login, choice in (("13900000001", 0), ("13900000002", 1), ("13900000003", 0)):
        membership = db.session.scalar(select(Membership).where(
            Membership.user_id == users[login].id, Membership.community_id == community.id))
        ops.cast(users[login], membership, ballot, [options[choice]])
        voted.add(membership.household_id)
    batch = ops.add_paper_batch(clerk, ballot, "苏阿姨（楼栋长）",
                                (vote.starts_at + timedelta(days=2)).date())
    households = db.session.scalars(select(Household).where(
        Household.community_id == community.id, Household.id.not_in(voted))
        .order_by(Household.id)).all()
    for household, choice in zip(households, PAPER_VOTES, strict=False):
        ops.enter_paper(clerk, ballot, batch, household, None, [options[choice]])
    # The register was taken as voting opened, which for the demo lies in the past.
    ballot.register_taken_at = vote.starts_at
    db.session.execute(update(RegisterEntry).where(RegisterEntry.ballot_id == ballot.id)
                       .values(created_at=vote.starts_at))
