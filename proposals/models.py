"""Models of the proposals area: residents' proposals, their photos and supports."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    event,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.accounts.models import User
from participation.clock import utcnow
from participation.consultations.models import Consultation
from participation.extensions import db
from participation.plan.models import Site
from participation.search import terms

STATUSES = ("draft", "evaluating", "accepted", "rejected", "merged")
# `Proposal.credit` of a proposal made of a children's design: "the children of <community>",
# in the reader's language.
CHILDREN_CREDIT = "children"


class Proposal(db.Model):
    __tablename__ = "proposal"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
                        name="status_known"),
        CheckConstraint("estimated_cost IS NULL OR estimated_cost >= 0", name="cost_positive"),
        Index("ix_proposal_consultation_status", "consultation_id", "status"),
        # One index per order and filter the community's list offers, each ending in what the
        # list filters on besides, so a page is read from the index alone (web.paginate_ids).
        Index("ix_proposal_list_new", "community_id", "submitted_at", "id", "status"),
        Index("ix_proposal_list_supported", "community_id", "support_count", "id", "status"),
        Index("ix_proposal_list_status_new", "community_id", "status", "submitted_at", "id"),
        Index("ix_proposal_list_status_supported", "community_id", "status", "support_count",
              "id"),
        Index("ix_proposal_list_category_new", "community_id", "category", "submitted_at", "id",
              "status"),
        Index("ix_proposal_list_category_supported", "community_id", "category",
              "support_count", "id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultation.id", ondelete="CASCADE"))
    # The consultation's community, kept here so the community's lists need no join.
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"),
                                                  index=True)
    # Who a proposal without an author is credited to: CHILDREN_CREDIT for one made of a
    # children's design.
    credit: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    # A complete-community checklist item id (e.g. "cc12"), or "other".
    category: Mapped[str] = mapped_column(String(40))
    site: Mapped[str] = mapped_column(String(200))
    # The site of the community's inventory it is about, where the author chose one.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"),
                                                index=True)
    estimated_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    reason: Mapped[str | None] = mapped_column(String(500))
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposal.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Kept by the database's triggers on `support` (see the migration), so that sorting by
    # supports reads an index and no count is taken per row.
    support_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # What the full-text index holds (participation/search.py), set from the texts on every save.
    search_terms: Mapped[str] = mapped_column(Text, default="", server_default="")

    consultation: Mapped[Consultation] = relationship()
    author: Mapped[User | None] = relationship()
    photos: Mapped[list[ProposalPhoto]] = relationship(
        order_by="ProposalPhoto.id", cascade="all, delete-orphan")
    merged_into: Mapped[Proposal | None] = relationship(remote_side=[id])
    inventory_site: Mapped[Site | None] = relationship()


@event.listens_for(Proposal, "before_insert")
@event.listens_for(Proposal, "before_update")
def _derived_columns(_mapper, connection, proposal: Proposal) -> None:
    if proposal.community_id is None:
        proposal.community_id = connection.scalar(
            select(Consultation.community_id).where(Consultation.id == proposal.consultation_id))
    proposal.search_terms = terms(proposal.title, proposal.site, proposal.description)


class ProposalPhoto(db.Model):
    __tablename__ = "proposal_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"),
                                             index=True)
    filename: Mapped[str] = mapped_column(String(40))
    thumbnail: Mapped[str] = mapped_column(String(40))


class Support(db.Model):
    """One support per person per proposal: the primary key says so."""

    __tablename__ = "support"

    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"),
                                             primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"),
                                         primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AgendaProposal(db.Model):
    """A deliberation meeting's agenda item about a proposal."""

    __tablename__ = "agenda_proposal"

    agenda_item_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_item.id", ondelete="CASCADE"), primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"),
                                             index=True)
