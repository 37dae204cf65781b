"""Models of children's design calls: the call, the designs children submit (pre-moderated),
offline workshops, and the children's stickers."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    event,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.children.models import ChildProfile, PaperConsent
from participation.clock import utcnow
from participation.consultations.models import Consultation
from participation.extensions import db
from participation.plan.models import Site

DESIGN_STATUSES = ("pending", "approved", "rejected")
TITLE_MAX = 40
WANT_MAX = 200


class DesignCall(db.Model):
    """A planner's call for children's designs of one site, in a consultation of the children's
    kind: its phases are the schedule (design collection, children's vote, exhibition)."""

    __tablename__ = "design_call"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"),
                                              index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"),
                                                index=True)
    title: Mapped[str] = mapped_column(String(80))
    prompt: Mapped[str] = mapped_column(Text)
    # The age bands invited, as "6-8,9-11": a subset of the CHILD_AGE_BANDS setting.
    age_bands: Mapped[str] = mapped_column(String(80))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    consultation: Mapped[Consultation] = relationship()
    site: Mapped[Site | None] = relationship()

    @property
    def bands(self) -> list[str]:
        return [b for b in self.age_bands.split(",") if b]


@event.listens_for(DesignCall, "before_insert")
def _call_community(_mapper, connection, call: DesignCall) -> None:
    if call.community_id is None:
        call.community_id = connection.scalar(
            select(Consultation.community_id).where(Consultation.id == call.consultation_id))


class Workshop(db.Model):
    """An offline workshop of a call: its children have no guardian with an account and take
    part on the guardians' paper consents, which the planner attests (`paper_consent`)."""

    __tablename__ = "design_workshop"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("design_call.id", ondelete="CASCADE"),
                                         index=True)
    paper_consent_id: Mapped[int] = mapped_column(
        ForeignKey("paper_consent.id", ondelete="CASCADE"), unique=True)
    place: Mapped[str] = mapped_column(String(120))
    held_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    paper_consent: Mapped[PaperConsent] = relationship()


class Design(db.Model):
    """A child's design: a photo or scan of the drawing (re-encoded, metadata removed), a title,
    what the child wants there. Nobody but the guardian and the community's planners and
    moderators sees it until it is approved."""

    __tablename__ = "design"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in DESIGN_STATUSES) + ")",
                        name="status_known"),
        Index("ix_design_call_status", "call_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("design_call.id", ondelete="CASCADE"))
    child_id: Mapped[int] = mapped_column(ForeignKey("child_profile.id", ondelete="CASCADE"),
                                          index=True)
    workshop_id: Mapped[int | None] = mapped_column(
        ForeignKey("design_workshop.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    want: Mapped[str] = mapped_column(String(WANT_MAX), default="")
    filename: Mapped[str] = mapped_column(String(40))
    thumbnail: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The proposal a planner made of it, if any (credited to the community's children).
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    call: Mapped[DesignCall] = relationship()
    child: Mapped[ChildProfile] = relationship()


class Sticker(db.Model):
    """One of a child's N stickers in a call, placed on a design. The key (call, child, slot)
    with 1 <= slot <= N is what holds the limit when requests run at once."""

    __tablename__ = "design_sticker"
    __table_args__ = (CheckConstraint("slot >= 1", name="slot_positive"),)

    call_id: Mapped[int] = mapped_column(ForeignKey("design_call.id", ondelete="CASCADE"),
                                         primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child_profile.id", ondelete="CASCADE"),
                                          primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True)
    design_id: Mapped[int] = mapped_column(ForeignKey("design.id", ondelete="CASCADE"),
                                           index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WorkshopTally(db.Model):
    """The stickers a workshop's children placed on a design, counted by the planner, by age
    band."""

    __tablename__ = "design_workshop_tally"
    __table_args__ = (CheckConstraint("stickers >= 0", name="stickers_not_negative"),)

    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("design_workshop.id", ondelete="CASCADE"), primary_key=True)
    design_id: Mapped[int] = mapped_column(ForeignKey("design.id", ondelete="CASCADE"),
                                           primary_key=True, index=True)
    age_band: Mapped[str] = mapped_column(String(10), primary_key=True)
    stickers: Mapped[int]
