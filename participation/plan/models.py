"""Models of the plan: the community's checkup (体检) against the complete-community checklist,
one round at a time, each item's finding with its evidence."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.accounts.models import User
from participation.clock import utcnow
from participation.extensions import db

STATES = ("present", "insufficient", "missing")


class Checkup(db.Model):
    """One round of a community's checkup; the newest is the current one, earlier ones are its
    history."""

    __tablename__ = "checkup"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"),
                                              index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    started_by: Mapped[User | None] = relationship()
    entries: Mapped[list[CheckupEntry]] = relationship(
        back_populates="checkup", cascade="all, delete-orphan", order_by="CheckupEntry.id")


class CheckupEntry(db.Model):
    """What the checkup found for one checklist item: present, insufficient or missing, the
    measured value where the item has a measure, and the evidence."""

    __tablename__ = "checkup_entry"
    __table_args__ = (
        UniqueConstraint("checkup_id", "item_id"),
        CheckConstraint("state IN (" + ", ".join(f"'{s}'" for s in STATES) + ")",
                        name="state_known"),
        CheckConstraint("value IS NULL OR value >= 0", name="value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkup_id: Mapped[int] = mapped_column(ForeignKey("checkup.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(20))  # from the checklist file, e.g. "cc12"
    state: Mapped[str] = mapped_column(String(12))
    value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    note: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[str | None] = mapped_column(String(40))
    checked_on: Mapped[date] = mapped_column(Date)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    checkup: Mapped[Checkup] = relationship(back_populates="entries")
    checked_by: Mapped[User | None] = relationship()
