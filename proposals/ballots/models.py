"""Models of ballots: a vote over shortlisted proposals with its rules, the options, paper
batches, who voted and what was voted (kept apart for secret ballots)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    JSON,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.accounts.models import User
from participation.clock import utcnow
from participation.communities.models import Household
from participation.consultations.models import Consultation, Phase
from participation.extensions import db
from proposals.models import Proposal

METHODS = ("single", "approval", "budget")
ELIGIBILITIES = ("resident", "household")
SECRECIES = ("open", "secret")
# Decision presets, after ../shared/domain/governance-rules.md (see proposals/ballots/results.py).
PRESETS = ("advisory", "residents_meeting", "civil_ordinary", "civil_major", "custom")
CHANNELS = ("online", "paper")
MAX_OPTIONS = 30  # each option owns one bit of a ballot's pattern (see results.py)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Ballot(db.Model):
    """A vote over shortlisted proposals in one vote phase, with its rules. The rules are locked
    once anybody has voted (see operations.has_votes)."""

    __tablename__ = "ballot"
    __table_args__ = (
        CheckConstraint(_one_of("method", METHODS), name="method_known"),
        CheckConstraint(_one_of("eligibility", ELIGIBILITIES), name="eligibility_known"),
        CheckConstraint(_one_of("secrecy", SECRECIES), name="secrecy_known"),
        CheckConstraint(_one_of("preset", PRESETS), name="preset_known"),
        CheckConstraint("max_choices IS NULL OR max_choices >= 1", name="max_choices_positive"),
        CheckConstraint("budget IS NULL OR budget > 0", name="budget_positive"),
        CheckConstraint("quorum_pct IS NULL OR (quorum_pct >= 0 AND quorum_pct <= 100)",
                        name="quorum_pct_range"),
        CheckConstraint("threshold_pct IS NULL OR (threshold_pct > 0 AND threshold_pct <= 100)",
                        name="threshold_pct_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    # One ballot per vote phase: it opens and closes with the phase, which therefore cannot be
    # deleted under it (no ON DELETE action; deleting the consultation removes both).
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id"), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    method: Mapped[str] = mapped_column(String(10))
    max_choices: Mapped[int | None] = mapped_column(Integer)
    budget: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    eligibility: Mapped[str] = mapped_column(String(10))
    secrecy: Mapped[str] = mapped_column(String(10))
    preset: Mapped[str] = mapped_column(String(20))
    quorum_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    threshold_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    results_live: Mapped[bool] = mapped_column(Boolean, default=False)
    # A secret ballot's papers are rewritten in a random order while it runs (`shuffled_at`)
    # and for the last time once it is closed (`sealed_at`); see secrecy.py.
    shuffled_at: Mapped[datetime | None] = mapped_column(DateTime)
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the register of voters was taken: at the first vote, paper entry or upkeep run once
    # voting is open (see operations.take_register).
    register_taken_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    consultation: Mapped[Consultation] = relationship()
    phase: Mapped[Phase] = relationship()
    options: Mapped[list[BallotOption]] = relationship(
        order_by="BallotOption.position", cascade="all, delete-orphan")

    @property
    def secret(self) -> bool:
        return self.secrecy == "secret"


class BallotOption(db.Model):
    __tablename__ = "ballot_option"
    __table_args__ = (
        UniqueConstraint("ballot_id", "proposal_id", name="uq_ballot_option_proposal"),
        UniqueConstraint("ballot_id", "position", name="uq_ballot_option_position"),
        CheckConstraint("cost IS NULL OR cost > 0", name="cost_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballot.id", ondelete="CASCADE"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"),
                                             index=True)
    position: Mapped[int] = mapped_column(Integer)
    # What the option costs in a budget ballot (from the proposal's estimate, set by the planner).
    cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))

    proposal: Mapped[Proposal] = relationship()


class PaperBatch(db.Model):
    """Paper ballots collected by one person on one day, entered by a committee member."""

    __tablename__ = "paper_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballot.id", ondelete="CASCADE"),
                                           index=True)
    collected_by: Mapped[str] = mapped_column(String(80))
    collected_on: Mapped[date] = mapped_column(Date)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    entered_by: Mapped[User | None] = relationship()


class BallotVoter(db.Model):
    """Who has voted, online or on paper. The unique key is the one-vote rule: `voter_key` is the
    user ("u12") for a ballot per resident and the household ("h7") for a ballot per household,
    online and paper alike, so nobody votes twice and no household votes both ways."""

    __tablename__ = "ballot_voter"
    __table_args__ = (
        UniqueConstraint("ballot_id", "voter_key", name="uq_ballot_voter_key"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel_known"),
        CheckConstraint("channel = 'online' OR batch_id IS NOT NULL", name="paper_has_batch"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballot.id", ondelete="CASCADE"))
    voter_key: Mapped[str] = mapped_column(String(24))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"),
                                                index=True)
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("household.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("paper_batch.id", ondelete="CASCADE"), index=True)
    cast_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    changed_at: Mapped[datetime | None] = mapped_column(DateTime)

    household: Mapped[Household | None] = relationship()


class RegisterEntry(db.Model):
    """One voter in a ballot's register, frozen when voting opens: a verified resident for a
    ballot per resident, a household of the roster for one per household, with the household's
    floor area as it was then. Later changes to the roster do not touch it; the committee may
    add a late-verified resident (or household) before the close, and that is audited."""

    __tablename__ = "ballot_register"
    __table_args__ = (
        UniqueConstraint("ballot_id", "voter_key", name="uq_ballot_register_key"),
        CheckConstraint("floor_area IS NULL OR floor_area > 0", name="floor_area_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballot.id", ondelete="CASCADE"))
    voter_key: Mapped[str] = mapped_column(String(24))  # as BallotVoter.voter_key
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("household.id", ondelete="SET NULL"))
    floor_area: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    added_late_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    household: Mapped[Household | None] = relationship()


class BallotPaper(db.Model):
    """What was voted. An open ballot's paper names its voter, so the voter can change it; a
    secret ballot's paper names nobody, not even how it came in (online or on paper), has a
    random id and no time, and is kept in a table without SQLite's rowid; what the order of
    rows on disk would tell, secrecy.py shuffles away."""

    __tablename__ = "ballot_paper"
    __table_args__ = (
        CheckConstraint("NOT secret OR voter_id IS NULL", name="secret_names_nobody"),
        CheckConstraint("(secret AND channel IS NULL) OR (NOT secret AND channel IS NOT NULL)",
                        name="channel_only_when_open"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel_known"),
        Index("ix_ballot_paper_ballot", "ballot_id", "channel"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballot.id", ondelete="CASCADE"))
    secret: Mapped[bool] = mapped_column(Boolean)
    voter_id: Mapped[int | None] = mapped_column(
        ForeignKey("ballot_voter.id", ondelete="CASCADE"), unique=True)
    channel: Mapped[str | None] = mapped_column(String(8))


class BallotMark(db.Model):
    """One option marked on one paper."""

    __tablename__ = "ballot_mark"
    __table_args__ = ({"sqlite_with_rowid": False},)

    paper_id: Mapped[str] = mapped_column(ForeignKey("ballot_paper.id", ondelete="CASCADE"),
                                          primary_key=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("ballot_option.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)


class BallotTally(db.Model):
    """A closed ballot's counts (proposals/ballots/results.py), taken once voting and paper
    entry are over and read back by every later view of its results."""

    __tablename__ = "ballot_tally"

    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballot.id", ondelete="CASCADE"),
                                           primary_key=True)
    # When the results became final (the end of paper entry after the vote) as the counts were
    # taken: should the vote's end or the days for paper entry change, they are taken again.
    closed_at: Mapped[datetime] = mapped_column(DateTime)
    counts: Mapped[dict] = mapped_column(JSON)
    counted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
