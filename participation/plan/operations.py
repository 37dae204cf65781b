"""State changes and figures of the checkup: starting a round, recording an item's finding, and
how complete the community is by the checklist."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from participation.accounts.models import User
from participation.audit.operations import record
from participation.communities.models import Community
from participation.errors import OperationError
from participation.extensions import db
from participation.standards import Item, checklist

from .models import SITE_KINDS, STATES, Checkup, CheckupEntry, Site, SitePhoto, SitePlan

# A finding's weight in the completeness score: what is present counts fully, what is there
# but falls short counts half, what is missing (or not yet checked) nothing.
WEIGHTS = {"present": Decimal(1), "insufficient": Decimal("0.5"), "missing": Decimal(0)}


def current_checkup(community: Community) -> Checkup | None:
    return db.session.scalar(select(Checkup).where(Checkup.community_id == community.id)
                             .order_by(Checkup.started_at.desc(), Checkup.id.desc()).limit(1))


def start_checkup(user: User, community: Community) -> Checkup:
    checkup = Checkup(community_id=community.id, started_by_id=user.id)
    db.session.add(checkup)
    db.session.flush()
    record("checkup.start", actor=user, community=community, target=f"checkup:{checkup.id}")
    return checkup


def record_finding(user: User, checkup: Checkup, item: Item, *, state: str,
                   value: Decimal | None, note: str, checked_on: date,
                   photo: str | None, remove_photo: bool) -> CheckupEntry:
    """Record (or correct) what the checkup found for one item."""
    if state not in STATES:
        raise OperationError(_("Choose whether the item is present, insufficient or missing."))
    if value is not None and item.measure is None:
        value = None  # nothing to measure: a stray value is not kept
    entry = db.session.scalar(select(CheckupEntry).where(
        CheckupEntry.checkup_id == checkup.id, CheckupEntry.item_id == item.id)
        .with_for_update())
    if entry is None:
        entry = CheckupEntry(checkup_id=checkup.id, item_id=item.id)
        db.session.add(entry)
    entry.state, entry.value, entry.note = state, value, note.strip()
    entry.checked_on, entry.checked_by_id = checked_on, user.id
    if photo:
        entry.photo = photo
    elif remove_photo:
        entry.photo = None
    db.session.flush()
    record("checkup.finding", actor=user, community=db.session.get(Community,
                                                                   checkup.community_id),
           target=f"checkup:{checkup.id}", item=item.id, state=state,
           value="" if value is None else str(value))
    return entry


def meets(item: Item, entry: CheckupEntry | None) -> bool | None:
    """Whether the measured value meets the item's reference value (None: nothing to compare)."""
    if entry is None or entry.value is None or item.measure is None \
            or item.measure.threshold is None:
        return None
    if item.measure.at_most:
        return entry.value <= item.measure.threshold
    return entry.value >= item.measure.threshold


@dataclass
class CategoryFigures:
    present: int = 0
    insufficient: int = 0
    missing: int = 0
    unchecked: int = 0
    items: list = field(default_factory=list)  # (item, entry or None)


def figures(entries: dict[str, CheckupEntry]) -> tuple[dict[str, CategoryFigures], Decimal]:
    """Per category, how many items are present, insufficient, missing or not yet checked; and
    the completeness score in percent (see WEIGHTS), over every item of the checklist."""
    categories, items = checklist()
    by_category = {c.id: CategoryFigures() for c in categories}
    total = Decimal(0)
    for item in items:
        figures_ = by_category.setdefault(item.category, CategoryFigures())
        entry = entries.get(item.id)
        figures_.items.append((item, entry))
        if entry is None:
            figures_.unchecked += 1
        else:
            setattr(figures_, entry.state, getattr(figures_, entry.state) + 1)
            total += WEIGHTS[entry.state]
    score = (total * 100 / len(items)).quantize(Decimal("0.1")) if items else Decimal(0)
    return by_category, score


def history(community: Community) -> list[tuple[Checkup, int, Decimal]]:
    """Every round of the community's checkup, newest first, with how many items it checked and
    its completeness score: one query, whatever the number of rounds."""
    items = len(checklist()[1]) or 1
    weight = case(*((CheckupEntry.state == s, w) for s, w in WEIGHTS.items()), else_=0)
    rows = db.session.execute(
        select(Checkup, func.count(CheckupEntry.id), func.coalesce(func.sum(weight), 0))
        .outerjoin(CheckupEntry, CheckupEntry.checkup_id == Checkup.id)
        .where(Checkup.community_id == community.id).group_by(Checkup.id)
        .order_by(Checkup.started_at.desc(), Checkup.id.desc())).all()
    return [(c, n, (Decimal(str(w)) * 100 / items).quantize(Decimal("0.1")))
            for c, n, w in rows]


# --- the inventory of sites -----------------------------------------------------------------

MAX_SITE_PHOTOS = 6


def save_site(user: User, community: Community, site: Site | None, *, kind: str, name: str,
              area_m2: Decimal | None, owner: str, state: str, notes: str,
              x: Decimal | None, y: Decimal | None, photos: list[str],
              remove_photos: list[int]) -> Site:
    if kind not in SITE_KINDS:
        raise OperationError(_("Choose the kind of site."))
    if (x is None) != (y is None):
        raise OperationError(_("Give both coordinates of the pin, or neither."))
    if site is None:
        site = Site(community_id=community.id)
        db.session.add(site)
    site.kind, site.name, site.area_m2 = kind, name.strip(), area_m2
    site.owner, site.state, site.notes = owner.strip(), state.strip(), notes.strip()
    site.x, site.y = x, y
    for photo in [p for p in site.photos if p.id in set(remove_photos)]:
        site.photos.remove(photo)
    if len(site.photos) + len(photos) > MAX_SITE_PHOTOS:
        raise OperationError(_("A site has at most %(n)d photos.", n=MAX_SITE_PHOTOS))
    site.photos.extend(SitePhoto(filename=f) for f in photos)
    db.session.flush()
    record("site.save", actor=user, community=community, target=f"site:{site.id}",
           name=site.name)
    return site


def save_site_plan(user: User, community: Community, image: str, width: int,
                   height: int) -> SitePlan:
    plan = db.session.get(SitePlan, community.id)
    if plan is None:
        plan = SitePlan(community_id=community.id)
        db.session.add(plan)
    plan.image, plan.width, plan.height = image, width, height
    db.session.flush()
    record("site_plan.save", actor=user, community=community, target=f"community:{community.id}")
    return plan
