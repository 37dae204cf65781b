"""State changes of the proposals area: drafting, submitting, supporting, reviewing, merging."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, insert, select

from participation.accounts.models import User
from participation.audit.operations import record
from participation.clock import utcnow
from participation.consultations.models import Consultation
from participation.database import insert_unless_exists
from participation.errors import OperationError
from participation.extensions import db
from participation.notifications.operations import notify
from participation.plan.models import Site
from participation.standards import item_names
from participation.web import parse_ids

from .models import AgendaProposal, Proposal, ProposalPhoto, Support

MAX_PHOTOS = 5
ANSWERS = ("evaluating", "accepted", "rejected")  # what a planner may answer

def save_proposal(author: User, consultation: Consultation, proposal: Proposal | None, *,
                  title: str, description: str, category: str, site: str,
                  estimated_cost: Decimal | None, photos: list[tuple[str, str]],
                  remove_photos: list[int], submit: bool,
                  site_id: int | None = None) -> Proposal:
    """Create or update a draft; `submit` sends it to the planner for evaluation."""
    if category != "other" and category not in item_names():
        raise OperationError(_("Choose a category from the list."))
    if site_id is not None and db.session.scalar(select(Site.community_id).where(
            Site.id == site_id)) != consultation.community_id:
        raise OperationError(_("Choose a site of this community's inventory."))
    if proposal is None:
        proposal = Proposal(consultation_id=consultation.id, author_id=author.id)
        db.session.add(proposal)
    elif proposal.status != "draft":
        raise OperationError(_("A submitted proposal can no longer be changed."))
    proposal.title, proposal.description = title.strip(), description
    proposal.category, proposal.site, proposal.site_id = category, site.strip(), site_id
    proposal.estimated_cost = estimated_cost
    for photo in [p for p in proposal.photos if p.id in set(remove_photos)]:
        proposal.photos.remove(photo)
    if len(proposal.photos) + len(photos) > MAX_PHOTOS:
        raise OperationError(_("A proposal has at most %(n)d photos.", n=MAX_PHOTOS))
    proposal.photos.extend(ProposalPhoto(filename=f, thumbnail=t) for f, t in photos)
    if submit:
        proposal.status, proposal.submitted_at = "evaluating", utcnow()
    db.session.flush()
    if submit:
        record("proposal.submit", actor=author, community=consultation.community,
               target=f"proposal:{proposal.id}", title=proposal.title)
    return proposal


# What keeps a proposal's answer as it is: each lock (a ballot it stands on, say) is given the
# proposal and returns True while it holds. Areas' modules add theirs when they are registered.
answer_locks: list = []


def _locked(proposal: Proposal) -> bool:
    return any(lock(proposal) for lock in answer_locks)


def support(user: User, proposal: Proposal) -> bool:
    """Add the user's one support; False when it was already there (a double click)."""
    return insert_unless_exists(Support(proposal_id=proposal.id, user_id=user.id))


def withdraw_support(user: User, proposal: Proposal) -> bool:
    """Take the user's support back; False when there was none (a double click)."""
    return db.session.execute(delete(Support).where(
        Support.proposal_id == proposal.id, Support.user_id == user.id)).rowcount > 0


def review(planner: User, proposal: Proposal, status: str, reason: str | None, url: str) -> None:
    """The planner's answer: evaluating, accepted (shortlisted) or rejected with a public reason."""
    if status not in ANSWERS:
        raise OperationError(_("Choose an answer."))
    if status == "rejected" and not (reason or "").strip():
        raise OperationError(_("Give the reason for rejecting: residents will read it."))
    if proposal.status in ("draft", "merged"):
        raise OperationError(_("This proposal cannot be answered now."))
    if status != "accepted" and _locked(proposal):
        raise OperationError(_("This proposal is on a ballot people have voted on; its answer "
                               "stays until the vote is over."))
    proposal.status, proposal.reason = status, (reason or "").strip() or None
    record("proposal.review", actor=planner, community=proposal.consultation.community,
           target=f"proposal:{proposal.id}", status=status, reason=proposal.reason or "")
    if proposal.author_id and proposal.author_id != planner.id:
        notify([proposal.author_id], "proposal.answered", url, title=proposal.title,
               status=status)


def merge(planner: User, proposal: Proposal, target: Proposal, url: str) -> int:
    """Merge a proposal into another of the same consultation; its supports move over, a person
    who supported both counted once. Returns how many supports moved."""
    if target.id == proposal.id or target.consultation_id != proposal.consultation_id:
        raise OperationError(_("Choose another proposal of the same consultation."))
    if target.status not in ("evaluating", "accepted") or proposal.status in ("draft", "merged"):
        raise OperationError(_("Only proposals being evaluated or shortlisted can be merged, "
                               "and only into one of those."))
    if _locked(proposal):
        raise OperationError(_("This proposal is on a ballot people have voted on; its answer "
                               "stays until the vote is over."))
    already = select(Support.user_id).where(Support.proposal_id == target.id)
    moved = db.session.execute(
        insert(Support).from_select(
            ["proposal_id", "user_id", "created_at"],
            select(db.literal(target.id), Support.user_id, Support.created_at).where(
                Support.proposal_id == proposal.id, Support.user_id.not_in(already)))
    ).rowcount
    db.session.execute(delete(Support).where(Support.proposal_id == proposal.id))
    # The page says "merged into" with a link, in the reader's language; no stored sentence.
    proposal.status, proposal.merged_into_id, proposal.reason = "merged", target.id, None
    record("proposal.merge", actor=planner, community=proposal.consultation.community,
           target=f"proposal:{proposal.id}", into=target.id, moved=moved)
    if proposal.author_id and proposal.author_id != planner.id:
        notify([proposal.author_id], "proposal.answered", url, title=proposal.title,
               status="merged", into=target.title)
    return moved


# --- agenda links: what a deliberation meeting's agenda items say about proposals -------------


def agenda_choices(community) -> list[tuple[int, str]]:
    return db.session.execute(
        select(Proposal.id, Proposal.title).join(Consultation)
        .where(Consultation.community_id == community.id,
               Proposal.status.in_(["evaluating", "accepted", "rejected", "merged"]))
        .order_by(Proposal.submitted_at.desc()).limit(300)).all()


def agenda_load(items) -> dict[int, tuple[int, str, str]]:
    from flask import url_for

    ids = [item.id for item in items]
    if not ids:
        return {}
    rows = db.session.execute(
        select(AgendaProposal.agenda_item_id, Proposal.id, Proposal.title,
               Consultation.community_id)
        .join(Proposal, Proposal.id == AgendaProposal.proposal_id)
        .join(Consultation, Consultation.id == Proposal.consultation_id)
        .where(AgendaProposal.agenda_item_id.in_(ids))).all()
    return {item_id: (pid, title, url_for("proposals.show", community_id=community_id,
                                          proposal_id=pid))
            for item_id, pid, title, community_id in rows}


def agenda_save(item, proposal_id: int | None) -> None:
    db.session.execute(delete(AgendaProposal).where(AgendaProposal.agenda_item_id == item.id))
    if proposal_id is None:
        return
    proposal = db.session.get(Proposal, proposal_id)
    meeting_community = item.meeting.community_id
    if proposal is None or proposal.consultation.community_id != meeting_community \
            or proposal.status == "draft":
        raise OperationError(_("An agenda item links to a proposal of another community."))
    db.session.add(AgendaProposal(agenda_item_id=item.id, proposal_id=proposal.id))


def site_proposals(site) -> list[tuple[str, str]]:
    """The submitted proposals about a site of the inventory, newest first (for its page)."""
    from flask import url_for

    return [(title, url_for("proposals.show", community_id=site.community_id, proposal_id=pid))
            for pid, title in db.session.execute(
                select(Proposal.id, Proposal.title).where(
                    Proposal.site_id == site.id, Proposal.status != "draft")
                .order_by(Proposal.id.desc()).limit(100))]


PLANNABLE = ("evaluating", "accepted")  # submitted and neither turned down nor merged


def _plan_item(proposal: Proposal):
    from flask import url_for

    from participation.registries import SourceItem

    return SourceItem(
        str(proposal.id), proposal.title, Decimal(proposal.support_count),
        ngettext("%(num)d support", "%(num)d supports", proposal.support_count),
        url_for("proposals.show", community_id=proposal.community_id,
                proposal_id=proposal.id),
        site_id=proposal.site_id, cost=proposal.estimated_cost)


def plan_candidates(community, query: str) -> list:
    """The plan's "proposal" source: the community's standing proposals, most supported first
    (the 20 best, or those matching the query)."""
    from participation import search

    found = select(Proposal).where(Proposal.community_id == community.id,
                                   Proposal.status.in_(PLANNABLE))
    if query.strip():
        found = search.newest_matching(
            db.engine.dialect.name, found, Proposal.id, Proposal.search_terms, "proposal_fts",
            query).where(Proposal.title.icontains(query.strip(), autoescape=True))
    else:
        found = found.order_by(Proposal.support_count.desc(), Proposal.id.desc())
    return [_plan_item(p) for p in db.session.scalars(found.limit(20))]


def plan_load(community, refs: list[str]) -> dict:
    """The proposals named, while they stand (a proposal turned down or merged since is no
    longer a source: the one merged into holds its supports)."""
    ids = parse_ids(refs)
    return {str(p.id): _plan_item(p) for p in db.session.scalars(select(Proposal).where(
        Proposal.community_id == community.id, Proposal.id.in_(ids),
        Proposal.status.in_(PLANNABLE)))} if ids else {}
