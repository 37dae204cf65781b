"""A community's figures (members by role, households): read on every visit to its home, changed
only when memberships or the roster change. They are kept in the shared cache and forgotten when
a transaction that changed a membership or a household of the community commits."""
from __future__ import annotations

from itertools import chain

from flask import has_app_context
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from participation.extensions import cache, db

from .models import Community, Household, Membership

CHANGED = "linli_changed_communities"


def _key(community_id: int) -> str:
    return f"community-figures/{community_id}"


def figures(community: Community) -> tuple[dict[str, int], int]:
    """(active members per role, households in the roster)."""
    found = cache.get(_key(community.id))
    if found is None:
        counts = dict(db.session.execute(
            select(Membership.role, func.count())
            .where(Membership.community_id == community.id, Membership.revoked_at.is_(None))
            .group_by(Membership.role)).all())
        households = db.session.scalar(
            select(func.count()).select_from(Household)
            .where(Household.community_id == community.id))
        found = (counts, households)
        cache.set(_key(community.id), found)
    return found


@event.listens_for(Session, "after_flush")
def _note_changes(session, _context) -> None:
    changed = session.info.setdefault(CHANGED, set())
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, (Membership, Household)):
            changed.add(obj.community_id)


@event.listens_for(Session, "after_commit")
def _forget(session) -> None:
    changed = session.info.pop(CHANGED, ())
    if changed and has_app_context():
        cache.delete_many(*(_key(i) for i in changed))


@event.listens_for(Session, "after_soft_rollback")
def _nothing_changed(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # not a savepoint: the changes before it stay
        session.info.pop(CHANGED, None)
