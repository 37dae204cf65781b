"""Communities, their households (the roster), memberships and invite codes."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.accounts.models import User
from participation.clock import utcnow
from participation.extensions import db
from participation.policy import ROLE_VALUES, Role


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
    # Members not yet verified read everything; they comment only where the committee allows.
    unverified_may_comment: Mapped[bool] = mapped_column(Boolean, default=False,
                                                         server_default=false())
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
        """As residents write it: 3号楼2单元502室, whether or not the roster typed the suffixes."""
        building = self.building + ("号楼" if self.building.isdigit() else "")
        unit = self.unit + ("单元" if self.unit.isdigit() else "")
        room = self.room + ("" if self.room.endswith(("室", "号")) else "室")
        return building + unit + room

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
