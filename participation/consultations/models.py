"""Consultations and their typed phases."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.clock import utcnow
from participation.communities.models import Community
from participation.extensions import db


class Consultation(db.Model):
    """A planner's consultation in a community: a sequence of typed phases (see participation/phases.py)."""

    __tablename__ = "consultation"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    template: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    sites: Mapped[str | None] = mapped_column(String(300))
    # A re-encoded JPEG in the instance folder (see participation/uploads.py).
    cover: Mapped[str | None] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    community: Mapped[Community] = relationship()
    phases: Mapped[list[Phase]] = relationship(
        back_populates="consultation", order_by="Phase.starts_at", cascade="all, delete-orphan"
    )

    def active_phase(self, now: datetime) -> Phase | None:
        return next((p for p in self.phases if p.starts_at <= now < p.ends_at), None)

    def state(self, now: datetime) -> str:
        if not self.phases or now < self.phases[0].starts_at:
            return "upcoming"
        if now >= self.phases[-1].ends_at:
            return "closed"
        return "open"


class Phase(db.Model):
    __tablename__ = "phase"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    # Set when members were told that this phase began (see `flask notify-phases`).
    announced_at: Mapped[datetime | None] = mapped_column(DateTime)

    consultation: Mapped[Consultation] = relationship(back_populates="phases")
