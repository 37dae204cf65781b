"""Models of the plan: the community's checkup (体检) against the complete-community checklist,
one round at a time, each item's finding with its evidence; the inventory of its sites (普查),
pinned on its site plan; and its plans, each a list of projects built from sources, with the
residents' responses to the draft."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    JSON,
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


# The census of a community's sites, in the kinds Xiamen's complete-community work names.
SITE_KINDS = ("idle_land", "micro_space", "freed_land", "public_housing", "old_compound",
              "public_space", "public_facility", "heritage")


class SitePlan(db.Model):
    """The community's site plan: an uploaded drawing or aerial image that pins are placed on."""

    __tablename__ = "site_plan"

    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"),
                                              primary_key=True)
    image: Mapped[str] = mapped_column(String(40))
    width: Mapped[int]
    height: Mapped[int]
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Site(db.Model):
    """A site of the inventory (普查), pinned on the site plan at (x, y): percentages of the
    plan's width and height from its top left corner."""

    __tablename__ = "site"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in SITE_KINDS) + ")",
                        name="kind_known"),
        CheckConstraint("area_m2 IS NULL OR area_m2 >= 0", name="area_positive"),
        CheckConstraint("(x IS NULL AND y IS NULL) OR (x BETWEEN 0 AND 100 AND y BETWEEN 0 AND "
                        "100)", name="pin_on_plan"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"),
                                              index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    owner: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    x: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    y: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    photos: Mapped[list[SitePhoto]] = relationship(
        order_by="SitePhoto.id", cascade="all, delete-orphan")


class SitePhoto(db.Model):
    __tablename__ = "site_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(40))


class Plan(db.Model):
    """A round of the community's plan (e.g. "2027 年度社区更新方案"): its list of projects, the
    weights its priority scores are computed with, and the consultation that puts the draft to
    residents."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"),
                                              index=True)
    title: Mapped[str] = mapped_column(String(120))
    # {source key: weight as a decimal string}; a source without one weighs its default.
    weights: Mapped[dict] = mapped_column(JSON, default=dict)
    consultation_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultation.id", ondelete="SET NULL"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The public notice (公示) of a decided version: objections are taken until it ends.
    notice_version: Mapped[int | None]
    notice_starts_at: Mapped[datetime | None] = mapped_column(DateTime)
    notice_ends_at: Mapped[datetime | None] = mapped_column(DateTime)


OUTCOMES = ("adopt", "defer", "reject")


class PlanDecision(db.Model):
    """The record of the committee meeting that decided the plan's list: when, who was there,
    out of how many members (more than half must be present)."""

    __tablename__ = "plan_decision"
    __table_args__ = (
        CheckConstraint("committee_size >= 1 AND present >= 0 AND present <= committee_size",
                        name="attendance_possible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    members_present: Mapped[str] = mapped_column(Text)  # their names, one per line
    present: Mapped[int]
    committee_size: Mapped[int]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    outcomes: Mapped[list[ProjectDecision]] = relationship(
        cascade="all, delete-orphan", order_by="ProjectDecision.id")


class ProjectDecision(db.Model):
    """The committee's decision on one project: adopt, defer or reject, its votes and why."""

    __tablename__ = "plan_project_decision"
    __table_args__ = (
        UniqueConstraint("decision_id", "project_id"),
        CheckConstraint("outcome IN ('adopt', 'defer', 'reject')", name="outcome_known"),
        CheckConstraint("votes_for >= 0 AND votes_against >= 0 AND votes_abstain >= 0",
                        name="votes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("plan_decision.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_project.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[str] = mapped_column(String(8))
    votes_for: Mapped[int] = mapped_column(default=0)
    votes_against: Mapped[int] = mapped_column(default=0)
    votes_abstain: Mapped[int] = mapped_column(default=0)
    rationale: Mapped[str] = mapped_column(Text, default="")


class PlanVersion(db.Model):
    """A numbered, frozen copy of the plan's list: made when the committee decides, and again
    by each later change. `projects` holds each project as it then stood, with its decision
    and sources (see operations.snapshot)."""

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    number: Mapped[int]
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_decision.id", ondelete="SET NULL"))
    change: Mapped[str] = mapped_column(String(300), default="")
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    projects: Mapped[list] = mapped_column(JSON)

    decision: Mapped[PlanDecision | None] = relationship()
    made_by: Mapped[User | None] = relationship()


class Objection(db.Model):
    """A member's objection (异议) to a project of the plan under public notice, and the
    committee's public answer."""

    __tablename__ = "plan_objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_project.id", ondelete="SET NULL"))
    project_title: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"))

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


PROJECT_STATUSES = ("not_started", "design", "construction", "done", "cancelled")


class Project(db.Model):
    """A project of a plan. Its priority score is kept with it (see operations.rescore), so that
    the list sorts by score through an index."""

    __tablename__ = "plan_project"
    __table_args__ = (
        CheckConstraint("cost IS NULL OR cost >= 0", name="cost_positive"),
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in PROJECT_STATUSES) + ")",
                        name="status_known"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
        Index("ix_plan_project_score", "plan_id", "score", "id"),
        Index("ix_plan_project_cost", "plan_id", "cost", "id"),
        Index("ix_plan_project_category", "plan_id", "category", "id"),
        Index("ix_plan_project_site", "plan_id", "site_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(60))  # a checklist category id
    item_id: Mapped[str | None] = mapped_column(String(20))  # a checklist item, e.g. "cc12"
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    funding: Mapped[str] = mapped_column(String(200), default="")
    responsible: Mapped[str] = mapped_column(String(200), default="")
    timeline: Mapped[str] = mapped_column(String(200), default="")
    score: Mapped[Decimal] = mapped_column(Numeric(16, 4), default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # How an adopted project is carried out, as its latest update says (see ProjectUpdate).
    status: Mapped[str] = mapped_column(String(12), default="not_started",
                                        server_default="not_started")
    progress: Mapped[int] = mapped_column(default=0, server_default="0")
    cancel_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_on: Mapped[date | None] = mapped_column(Date)  # the date of its newest update

    site: Mapped[Site | None] = relationship()


class ProjectSource(db.Model):
    """What a project is built from, as it stood when last read: the source registered under
    `kind` (see participation/registries.py) knows the thing by `ref`."""

    __tablename__ = "plan_source"
    __table_args__ = (
        UniqueConstraint("project_id", "kind", "ref"),
        Index("ix_plan_source_plan_kind_ref", "plan_id", "kind", "ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("plan_project.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(20))
    ref: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str | None] = mapped_column(String(300))
    signal: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


STANCES = ("support", "object")


class ProjectResponse(db.Model):
    """A resident's response to a project of the draft plan: support or objection, and what
    they say; one per resident and project, which they may change while the review is open."""

    __tablename__ = "plan_response"
    __table_args__ = (
        UniqueConstraint("project_id", "user_id"),
        CheckConstraint("stance IN ('support', 'object')", name="stance_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("plan_project.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    stance: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()


class ProjectUpdate(db.Model):
    """A dated report on how an adopted project is going: its status and progress then, what
    happened, with photos. The newest sets the project's status and progress."""

    __tablename__ = "plan_project_update"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in PROJECT_STATUSES) + ")",
                        name="status_known"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
        CheckConstraint("status <> 'cancelled' OR cancel_reason <> ''", name="cancel_reasoned"),
        Index("ix_plan_project_update_project", "project_id", "on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("plan_project.id", ondelete="CASCADE"))
    on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    progress: Mapped[int]
    cancel_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    text: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    photos: Mapped[list[ProjectUpdatePhoto]] = relationship(
        order_by="ProjectUpdatePhoto.id", cascade="all, delete-orphan")


class ProjectUpdatePhoto(db.Model):
    __tablename__ = "plan_project_update_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(
        ForeignKey("plan_project_update.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(40))


class ProjectFollower(db.Model):
    """A member who follows a project and is told of each update."""

    __tablename__ = "plan_project_follower"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("plan_project.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
