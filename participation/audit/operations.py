"""Recording audit events."""
from __future__ import annotations

from typing import TYPE_CHECKING

from participation.extensions import db

from .models import AuditEvent

if TYPE_CHECKING:
    from participation.accounts.models import User
    from participation.communities.models import Community


def record(action: str, *, actor: User | None, community: Community | None = None,
           target: str | None = None, **details) -> AuditEvent:
    """Add an audit event to the current transaction."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        community_id=community.id if community else None,
        target=target,
        details={key: value for key, value in details.items() if value is not None},
    )
    db.session.add(event)
    return event
