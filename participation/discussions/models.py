"""Discussion topics, threaded comments with stances, upvotes and reports."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.accounts.models import User
from participation.clock import utcnow
from participation.consultations.models import Consultation
from participation.extensions import db

STANCES = ("support", "oppose", "neutral")


class Topic(db.Model):
    """A discussion topic in a consultation."""

    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_reason: Mapped[str | None] = mapped_column(String(200))
    # Set while the topic is hidden automatically by this many reports, waiting for a
    # moderator; None when a moderator hid it (or it is not hidden).
    hidden_after_reports: Mapped[int | None] = mapped_column(Integer)

    consultation: Mapped[Consultation] = relationship()
    author: Mapped[User | None] = relationship()


class Comment(db.Model):
    """A comment on a topic, or a reply to one (three levels at most), with a stance."""

    __tablename__ = "comment"
    __table_args__ = (
        CheckConstraint("depth >= 0 AND depth <= 2", name="depth_range"),
        CheckConstraint(
            "stance IS NULL OR stance IN (" + ", ".join(f"'{s}'" for s in STANCES) + ")",
            name="stance_known",
        ),
        Index("ix_comment_topic_created", "topic_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topic.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comment.id", ondelete="CASCADE"), index=True
    )
    # The top-level comment of the thread, so a page of threads loads in one query.
    root_id: Mapped[int | None] = mapped_column(
        ForeignKey("comment.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    stance: Mapped[str | None] = mapped_column(String(10))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    is_official: Mapped[bool] = mapped_column(Boolean, default=False)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_reason: Mapped[str | None] = mapped_column(String(200))
    # As on Topic: hidden automatically after this many reports, until a moderator decides.
    hidden_after_reports: Mapped[int | None] = mapped_column(Integer)

    topic: Mapped[Topic] = relationship()
    author: Mapped[User | None] = relationship()


class CommentVote(db.Model):
    """One upvote per user per comment: the primary key says so."""

    __tablename__ = "comment_vote"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comment.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"),
                                         primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Report(db.Model):
    """A resident's report of a topic or comment, for the moderators."""

    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint("(topic_id IS NULL) <> (comment_id IS NULL)", name="one_target"),
        # One report per person per piece of content (NULLs never collide, so one each).
        UniqueConstraint("reporter_id", "topic_id", name="uq_report_topic_once"),
        UniqueConstraint("reporter_id", "comment_id", name="uq_report_comment_once"),
        CheckConstraint("outcome IS NULL OR outcome IN ('kept', 'dismissed')",
                        name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    reporter_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    topic_id: Mapped[int | None] = mapped_column(
        ForeignKey("topic.id", ondelete="CASCADE"), index=True
    )
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comment.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    # How a moderator settled it: the content kept hidden, or the reports dismissed; and why.
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(10))
    resolution_reason: Mapped[str | None] = mapped_column(String(200))

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    topic: Mapped[Topic | None] = relationship()
    comment: Mapped[Comment | None] = relationship()
