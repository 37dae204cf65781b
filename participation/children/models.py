"""Guardians' consents to the children's information notice, and children's profiles: a
nickname and an age band, nothing more."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from participation.clock import utcnow
from participation.extensions import db

NICKNAME_MAX = 12


class GuardianConsent(db.Model):
    """A guardian's answer to one version of the children's information notice: consent or
    refusal, and when. Every answer is kept; the newest one counts. Withdrawing marks the
    consent withdrawn (and deletes the children's data)."""

    __tablename__ = "guardian_consent"
    __table_args__ = (
        CheckConstraint("notice_version >= 1", name="notice_version_positive"),
        CheckConstraint("withdrawn_at IS NULL OR agreed", name="only_consent_withdrawn"),
        Index("ix_guardian_consent_guardian", "user_id", "community_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    notice_version: Mapped[int]
    agreed: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)


class PaperConsent(db.Model):
    """A planner's attestation that guardians' consents were collected on paper, for the
    children of an offline workshop who have no guardian with an account: who collected them,
    when, how many."""

    __tablename__ = "paper_consent"
    __table_args__ = (CheckConstraint("count >= 1", name="count_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"),
                                              index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"))
    collected_by: Mapped[str] = mapped_column(String(80))
    collected_on: Mapped[date] = mapped_column(Date)
    count: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ChildProfile(db.Model):
    """A child taking part through a guardian, or through a workshop on paper consents: a
    nickname (never a real name) and an age band. Children never sign in."""

    __tablename__ = "child_profile"
    __table_args__ = (
        UniqueConstraint("guardian_id", "community_id", "nickname"),
        UniqueConstraint("paper_consent_id", "nickname"),
        CheckConstraint("guardian_id IS NOT NULL OR paper_consent_id IS NOT NULL",
                        name="has_consent_holder"),
        Index("ix_child_profile_community", "community_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"),
                                                    index=True)
    consent_id: Mapped[int | None] = mapped_column(
        ForeignKey("guardian_consent.id", ondelete="SET NULL"))
    paper_consent_id: Mapped[int | None] = mapped_column(
        ForeignKey("paper_consent.id", ondelete="CASCADE"), index=True)
    nickname: Mapped[str] = mapped_column(String(NICKNAME_MAX))
    age_band: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
