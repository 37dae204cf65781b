"""State changes of consultations and their phases.

Each function validates, writes, flushes and records an audit event; the request's single commit
happens after the view. They raise `OperationError` with a translated message when the change
cannot happen; nothing has been written when they do.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from participation.accounts.models import User
from participation.audit.operations import record
from participation.clock import utcnow
from participation.communities.models import Community
from participation.errors import OperationError
from participation.extensions import db
from participation.notifications.operations import notify_members
from participation.phases import PHASE_KINDS, TEMPLATES

from .models import Consultation, Phase

log = logging.getLogger(__name__)


def create_consultation(actor: User, community: Community, *, template: str, title: str,
                        description: str, sites: str | None, starts_at: datetime,
                        url_for_consultation) -> Consultation:
    """Create a consultation with its template's phases, back to back from `starts_at`."""
    spec = TEMPLATES.get(template)
    if spec is None:
        raise OperationError(_("Choose one of the templates."))
    consultation = Consultation(community_id=community.id, template=template, title=title.strip(),
                                description=description, sites=sites or None,
                                created_by_id=actor.id)
    start = starts_at
    for phase in spec.phases:
        end = start + timedelta(days=phase.days)
        consultation.phases.append(Phase(kind=phase.kind, starts_at=start, ends_at=end))
        start = end
    db.session.add(consultation)
    db.session.flush()
    record("consultation.create", actor=actor, community=community,
           target=f"consultation:{consultation.id}", title=consultation.title)
    notify_members(community, "consultation.new", url_for_consultation(consultation),
                   exclude=actor.id, title=consultation.title)
    return consultation


def update_consultation(actor: User, consultation: Consultation, *, title: str, description: str,
                        sites: str | None, cover: str | None) -> None:
    consultation.title = title.strip()
    consultation.description = description
    consultation.sites = sites or None
    consultation.cover = cover
    record("consultation.edit", actor=actor, community=consultation.community,
           target=f"consultation:{consultation.id}")


def set_phases(actor: User, consultation: Consultation,
               phases: list[tuple[str, datetime, datetime, int | None]]) -> None:
    """Set the phases: (kind, start, end, id of the saved phase the row edits or None). They
    must be known kinds, each ending after it starts, none overlapping another. Saved phases
    are updated in place, so what hangs on a phase (a ballot) stays with it; saved phases the
    list leaves out are removed."""
    if not phases:
        raise OperationError(_("A consultation needs at least one phase."))
    ordered = sorted(phases, key=lambda p: p[1])
    for kind, start, end, _id in ordered:
        if kind not in PHASE_KINDS:
            raise OperationError(_("Unknown phase kind."))
        if end <= start:
            raise OperationError(_("Each phase must end after it starts."))
    for (_k1, _s1, end, _i1), (_k2, start, _e2, _i2) in zip(ordered, ordered[1:], strict=False):
        if start < end:
            raise OperationError(_("Phases may not overlap: one starts before the previous one "
                                   "ends."))
    from participation.phases import phase_guards

    now = utcnow()
    saved = {p.id: p for p in consultation.phases}
    changes = [(saved.pop(pid, None) if pid else None, kind, start, end)
               for kind, start, end, pid in ordered]
    removed = list(saved.values())
    # Areas refuse changes that would break what hangs on a phase (see phases.add_phase_guard).
    for phase, kind, start, end in [*changes, *((p, None, None, None) for p in removed)]:
        if phase is None:
            continue
        for guard in phase_guards:
            if problem := guard(phase, kind, start, end):
                raise OperationError(problem)
    for phase in removed:
        consultation.phases.remove(phase)
    db.session.flush()
    # A phase members were told about stays announced; one whose start moves into the past is
    # not announced after the fact, one moved into the future is announced when it begins.
    for phase, kind, start, end in changes:
        if phase is None:
            consultation.phases.append(Phase(kind=kind, starts_at=start, ends_at=end,
                                             announced_at=now if start <= now else None))
        else:
            if phase.starts_at != start:
                phase.announced_at = now if start <= now else None
            phase.kind, phase.starts_at, phase.ends_at = kind, start, end
    db.session.flush()
    record("consultation.phases", actor=actor, community=consultation.community,
           target=f"consultation:{consultation.id}", phases=len(ordered))


def announce_started_phases(now: datetime, url_for_consultation) -> int:
    """Tell members about every phase that has begun and was not announced yet."""
    phases = db.session.scalars(
        select(Phase).where(Phase.starts_at <= now, Phase.ends_at > now,
                            Phase.announced_at.is_(None))
        .options(joinedload(Phase.consultation).joinedload(Consultation.community))
    ).all()
    for phase in phases:
        consultation = phase.consultation
        notify_members(consultation.community, "phase.started",
                       url_for_consultation(consultation), title=consultation.title,
                       phase=phase.kind)
        phase.announced_at = now
    return len(phases)
