"""Core models: users and their sessions, communities, households, memberships, invites, audit."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import clock
from .extensions import db


def utcnow() -> datetime:
    """Naive UTC: what every DateTime column stores (Babel shows it in the community's timezone).
    Read from the one clock that tests can freeze."""
    return clock.now()


class Role(str, enum.Enum):
    RESIDENT = "resident"
    VERIFIED = "verified"
    PLANNER = "planner"
    COMMITTEE = "committee"
    MODERATOR = "moderator"


ROLE_VALUES = tuple(r.value for r in Role)
LOCALES = ("zh_CN", "en")


class User(UserMixin, db.Model):
    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_login"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(8))
    large_text: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    current_community_id: Mapped[int | None] = mapped_column(
        ForeignKey("community.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", foreign_keys="Membership.user_id"
    )

    @property
    def login(self) -> str:
        return self.email or self.phone or ""


class UserSession(db.Model):
    """A signed-in browser. Logging out or changing the password revokes it server-side, so a
    replayed copy of an old session cookie no longer signs anybody in."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class PasswordResetToken(db.Model):
    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class Community(db.Model):
    __tablename__ = "community"
    __table_args__ = (
        CheckConstraint("household_count IS NULL OR household_count >= 0", name="households"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    district: Mapped[str] = mapped_column(String(80))
    street: Mapped[str] = mapped_column(String(80))
    committee_name: Mapped[str] = mapped_column(String(80))
    household_count: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Household(db.Model):
    __tablename__ = "household"
    __table_args__ = (
        UniqueConstraint("community_id", "building", "unit", "room", name="uq_household_address"),
        CheckConstraint("floor_area IS NULL OR floor_area > 0", name="floor_area_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    building: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(20))
    room: Mapped[str] = mapped_column(String(20))
    floor_area: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    # Real names are for the committee only; public pages never show them.
    resident_names: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    community: Mapped[Community] = relationship()

    @property
    def address(self) -> str:
        return f"{self.building}-{self.unit}-{self.room}"

    @classmethod
    def address_order(cls) -> tuple:
        """Order by address the way people count: 2号楼 before 10号楼, 101 before 1001."""
        return (func.length(cls.building), cls.building, func.length(cls.unit), cls.unit,
                func.length(cls.room), cls.room)


class Membership(db.Model):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "community_id", name="uq_membership_user_community"),
        CheckConstraint(
            "role IN (" + ", ".join(f"'{r}'" for r in ROLE_VALUES) + ")", name="role_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16), default=Role.RESIDENT.value)
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("household.id", ondelete="SET NULL"), index=True
    )
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Shown to the resident concerned, so they know why and whom to ask.
    revoke_reason: Mapped[str | None] = mapped_column(String(200))
    # Blocked by a moderator: still a member, but may not post in this community.
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime)
    blocked_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    community: Mapped[Community] = relationship()
    household: Mapped[Household | None] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class InviteBatch(db.Model):
    """One issuing of invite codes: what a code sheet shows, and can show again for reprinting.

    A code is derived from the app's secret key and this batch's random nonce, so the database
    alone never reveals a code; it keeps only each code's hash."""

    __tablename__ = "invite_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    nonce: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()


class InviteCode(db.Model):
    """A single-use code for one household. Only its hash is kept."""

    __tablename__ = "invite_code"
    __table_args__ = (
        # At most one live (unused, unrevoked) code per household: reissuing revokes the old one.
        Index("uq_invite_code_live_household", "household_id", unique=True,
              sqlite_where=text("used_at IS NULL AND revoked_at IS NULL"),
              postgresql_where=text("used_at IS NULL AND revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    household_id: Mapped[int] = mapped_column(
        ForeignKey("household.id", ondelete="CASCADE"), index=True
    )
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("invite_batch.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    household: Mapped[Household] = relationship()


STANCES = ("support", "oppose", "neutral")


class Consultation(db.Model):
    """A planner's consultation in a community: a sequence of typed phases (see phases.py)."""

    __tablename__ = "consultation"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    template: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    sites: Mapped[str | None] = mapped_column(String(300))
    # A re-encoded JPEG in the instance folder (see uploads.py).
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

    reporter: Mapped[User] = relationship()
    topic: Mapped[Topic | None] = relationship()
    comment: Mapped[Comment | None] = relationship()


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    url: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class Meeting(db.Model):
    """A recorded offline deliberation meeting (议事会)."""

    __tablename__ = "meeting"
    __table_args__ = (
        CheckConstraint("attendance >= 0", name="attendance_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(120))
    held_at: Mapped[datetime] = mapped_column(DateTime)
    place: Mapped[str] = mapped_column(String(120))
    attendance: Mapped[int] = mapped_column(Integer, default=0)
    attendee_names: Mapped[str | None] = mapped_column(String(500))
    minutes: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    items: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting", order_by="AgendaItem.position", cascade="all, delete-orphan"
    )
    photos: Mapped[list[MeetingPhoto]] = relationship(
        order_by="MeetingPhoto.id", cascade="all, delete-orphan"
    )


class MeetingPhoto(db.Model):
    __tablename__ = "meeting_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"),
                                            index=True)
    filename: Mapped[str] = mapped_column(String(40))


class AgendaItem(db.Model):
    __tablename__ = "agenda_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"),
                                            index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic.id", ondelete="SET NULL"))
    decision: Mapped[str] = mapped_column(Text, default="")

    meeting: Mapped[Meeting] = relationship(back_populates="items")
    topic: Mapped[Topic | None] = relationship()


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_community_created", "community_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("community.id", ondelete="CASCADE")
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()


__all__ = [
    "AuditEvent",
    "Community",
    "Household",
    "InviteCode",
    "Membership",
    "PasswordResetToken",
    "Role",
    "User",
    "UserSession",
]
