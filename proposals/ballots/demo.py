"""The ballots' part of the demo community: an approval vote, open now, over the proposals the
planner shortlisted in the demo's micro-space consultation."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from participation.consultations.models import Consultation
from participation.extensions import db
from proposals.demo import TITLE
from proposals.models import Proposal

from .models import Ballot, BallotOption


def seed(community, users: dict) -> None:
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
