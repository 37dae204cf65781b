"""State changes of communities: creation, roles, memberships, the roster, invite codes.

Each function validates, writes, flushes and records an audit event; the request's single commit
happens after the view. They raise `OperationError` with a translated message when the change
cannot happen; nothing has been written when they do.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from participation.accounts.models import User
from participation.audit.operations import record
from participation.clock import utcnow
from participation.database import insert_unless_exists
from participation.errors import OperationError
from participation.extensions import db
from participation.policy import Role
from participation.security import (
    token_hash,
)

from .models import Community, Household, InviteBatch, InviteCode, Membership

log = logging.getLogger(__name__)

# --- communities and memberships --------------------------------------------------------------


def create_community(actor: User, *, name: str, district: str, street: str, committee_name: str,
                     household_count: int | None) -> Community:
    if db.session.scalar(select(Community.id).where(Community.name == name.strip())):
        raise OperationError(_("A community with this name already exists."))
    community = Community(name=name.strip(), district=district.strip(), street=street.strip(),
                          committee_name=committee_name.strip(), household_count=household_count)
    db.session.add(community)
    db.session.flush()
    record("community.create", actor=actor, community=community, target=f"community:{community.id}")
    return community


def update_settings(actor: User, community: Community, *, unverified_may_comment: bool) -> None:
    """The committee's choices for the community; audited only when something changed."""
    if community.unverified_may_comment == unverified_may_comment:
        return
    community.unverified_may_comment = unverified_may_comment
    record("community.settings", actor=actor, community=community,
           target=f"community:{community.id}",
           unverified_may_comment="yes" if unverified_may_comment else "no")


def membership(user: User, community: Community) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(Membership.user_id == user.id,
                                 Membership.community_id == community.id)
    )


def assign_role(actor: User, community: Community, user: User, role: Role) -> Membership:
    """Make `user` a planner, committee member or moderator of `community` (admin's action)."""
    m = membership(user, community)
    if m is None:
        m = Membership(user_id=user.id, community_id=community.id, role=role.value)
        if not insert_unless_exists(m):
            m = membership(user, community)
    m.role = role.value
    m.revoked_at = None
    if user.current_community_id is None:
        user.current_community_id = community.id
    db.session.flush()
    record("membership.assign_role", actor=actor, community=community,
           target=f"user:{user.id}", member=user.display_name, role=role.value)
    return m


STAFF_ROLES = (Role.PLANNER.value, Role.COMMITTEE.value, Role.MODERATOR.value)


def remove_role(actor: User, m: Membership) -> None:
    """Take a planner's, committee member's or moderator's role away (admin's action): they stay
    a member, verified again if they were linked to a household. The residents' committee
    runs the community (roster, invite codes, members), so its last member keeps the role
    until someone else has it."""
    if m.role not in STAFF_ROLES or m.revoked_at is not None:
        return  # already removed: a repeated click changes nothing
    # The committee's rows are locked (on PostgreSQL), so two admins removing the last two
    # committee members at once cannot both succeed.
    if m.role == Role.COMMITTEE.value and len(db.session.scalars(
            select(Membership.id).where(
                Membership.community_id == m.community_id,
                Membership.role == Role.COMMITTEE.value,
                Membership.revoked_at.is_(None)).with_for_update()).all()) <= 1:
        raise OperationError(_("%(name)s is the community's last committee member. Assign the "
                               "role to someone else first.", name=m.user.display_name))
    removed = m.role
    m.role = Role.VERIFIED.value if m.household_id else Role.RESIDENT.value
    record("membership.remove_role", actor=actor, community=m.community,
           target=f"user:{m.user_id}", member=m.user.display_name, role=removed)


def join_community(user: User, community: Community) -> Membership:
    """A visitor joins as an unverified resident; the committee or an invite code verifies."""
    m = membership(user, community)
    if m is not None and m.revoked_at is not None:
        raise OperationError(_("Your membership of this community was revoked. "
                               "Please contact the residents' committee."))
    if m is None:
        m = Membership(user_id=user.id, community_id=community.id, role=Role.RESIDENT.value)
        if insert_unless_exists(m):
            record("membership.join", actor=user, community=community, target=f"user:{user.id}")
        else:  # a double click: the first one joined
            m = membership(user, community)
    user.current_community_id = community.id
    return m


def switch_community(user: User, community: Community) -> None:
    user.current_community_id = community.id


def find_household(community: Community, building: str, unit: str, room: str) -> Household | None:
    """Look a household up as a person types it: "3" finds 3号楼, "2" finds 2单元."""
    # Full-width digits (１号楼) as Chinese keyboards often type them count as plain ones.
    building, unit, room = (unicodedata.normalize("NFKC", v).strip()
                            for v in (building, unit, room))
    buildings = [building, f"{building}号楼"] if building.isdigit() else [building]
    units = [unit, f"{unit}单元"] if unit.isdigit() else [unit]
    return db.session.scalars(
        select(Household).where(
            Household.community_id == community.id,
            Household.building.in_(buildings),
            Household.unit.in_(units),
            Household.room == room,
        ).order_by(Household.id).limit(1)
    ).first()


def verify_member(actor: User, m: Membership, household: Household) -> None:
    """The committee verified this resident in person and links them to their household."""
    if household.community_id != m.community_id:
        raise OperationError(_("That household is not in this community."))
    if m.role == Role.RESIDENT.value:
        m.role = Role.VERIFIED.value
    m.household_id = household.id
    m.verified_at = utcnow()
    record("membership.verify", actor=actor, community=m.community, target=f"user:{m.user_id}",
           member=m.user.display_name, household=household.address, method="in_person")


def revoke_member(actor: User, m: Membership, reason: str) -> None:
    if m.revoked_at is not None:
        return  # already revoked: a repeated click changes nothing
    m.revoked_at = utcnow()
    m.revoke_reason = reason
    record("membership.revoke", actor=actor, community=m.community, target=f"user:{m.user_id}",
           member=m.user.display_name, reason=reason)


# --- household roster -------------------------------------------------------------------------

ROSTER_COLUMNS = ("building", "unit", "room", "floor_area", "resident_names")
ROSTER_HEADERS = {
    "building": "building", "楼栋": "building", "楼号": "building",
    "unit": "unit", "单元": "unit",
    "room": "room", "房号": "room", "室": "room",
    "floor_area": "floor_area", "面积": "floor_area", "建筑面积": "floor_area",
    "resident_names": "resident_names", "住户姓名": "resident_names", "姓名": "resident_names",
}
ROSTER_MAX_ROWS = 5000


@dataclass
class RosterRow:
    line: int
    building: str
    unit: str
    room: str
    floor_area: Decimal | None
    resident_names: str | None
    exists: bool = False


@dataclass
class RosterPreview:
    rows: list[RosterRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def new_rows(self) -> list[RosterRow]:
        return [r for r in self.rows if not r.exists]

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


def parse_roster(community: Community, text: str) -> RosterPreview:
    """Check a roster CSV line by line without writing anything."""
    preview = RosterPreview()
    text = text.lstrip("\ufeff")  # Excel writes a BOM
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        preview.errors.append((1, _("The file is empty.")))
        return preview
    except csv.Error:
        preview.errors.append((1, _("This is not a readable CSV file.")))
        return preview
    columns = [ROSTER_HEADERS.get(h.strip().lower()) for h in header]
    missing = {"building", "unit", "room"} - set(columns)
    if missing:
        preview.errors.append((1, _("The first line must name the columns: building, unit, room, "
                                    "and optionally floor_area and resident_names.")))
        return preview

    existing = {
        (b, u, r) for b, u, r in db.session.execute(
            select(Household.building, Household.unit, Household.room)
            .where(Household.community_id == community.id)
        )
    }
    seen: dict[tuple[str, str, str], int] = {}
    try:
        for line, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(preview.rows) + len(preview.errors) >= ROSTER_MAX_ROWS:
                preview.errors.append((line, _("A roster may have at most %(n)d lines.",
                                               n=ROSTER_MAX_ROWS)))
                break
            values = {col: (cells[i].strip() if i < len(cells) else "")
                      for i, col in enumerate(columns) if col}
            row_errors = _roster_row_errors(values)
            if row_errors:
                preview.errors.extend((line, e) for e in row_errors)
                continue
            key = (values["building"], values["unit"], values["room"])
            if key in seen:
                preview.errors.append((line, _("Same household as line %(line)d.", line=seen[key])))
                continue
            seen[key] = line
            area = values.get("floor_area")
            preview.rows.append(RosterRow(
                line=line, building=key[0], unit=key[1], room=key[2],
                floor_area=Decimal(area).quantize(Decimal("0.01")) if area else None,
                resident_names=values.get("resident_names") or None,
                exists=key in existing,
            ))
    except csv.Error:
        preview.errors.append((reader.line_num, _("This is not a readable CSV file.")))
    if not preview.rows and not preview.errors:
        preview.errors.append((1, _("The file has no households.")))
    return preview


def _roster_row_errors(values: dict[str, str]) -> list[str]:
    errors = []
    for col, label in (("building", _("building")), ("unit", _("unit")), ("room", _("room"))):
        if not values.get(col):
            errors.append(_("%(column)s is missing.", column=label))
        elif len(values[col]) > 20:
            errors.append(_("%(column)s is longer than 20 characters.", column=label))
    area = values.get("floor_area")
    if area:
        try:
            number = Decimal(area)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number <= 0 or number >= 100000:
            errors.append(_("Floor area must be a positive number of square metres, not “%(value)s”.",
                            value=area[:20]))
    if len(values.get("resident_names") or "") > 200:
        errors.append(_("Resident names are longer than 200 characters."))
    return errors


def import_roster(actor: User, community: Community, text: str) -> RosterPreview:
    """Import every new household of a roster, or none if any line has an error."""
    preview = parse_roster(community, text)
    if not preview.ok:
        raise OperationError(_("The roster has errors; nothing was imported."))
    db.session.add_all(
        Household(community_id=community.id, building=row.building, unit=row.unit, room=row.room,
                  floor_area=row.floor_area, resident_names=row.resident_names)
        for row in preview.new_rows
    )
    try:
        db.session.flush()
    except IntegrityError:
        raise OperationError(_("Someone else changed the roster at the same time; nothing was "
                               "imported. Check the file again.")) from None
    record("household.import", actor=actor, community=community,
           added=len(preview.new_rows), skipped=len(preview.rows) - len(preview.new_rows))
    return preview


# --- invite codes -----------------------------------------------------------------------------

# No 0/O, 1/I/L: codes are read off paper by elderly residents.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12


def format_code(raw: str) -> str:
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def derive_code(batch: InviteBatch, household_id: int) -> str:
    """The invite code of one household in one batch (unformatted)."""
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    digest = hmac.new(key, f"linli-invite:{batch.nonce}:{household_id}".encode(),
                      hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _position in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)


def issue_invites(actor: User, community: Community, households: list[Household],
                  days: int) -> InviteBatch:
    """Issue a fresh code per household, revoking its earlier unused codes."""
    now = utcnow()
    ids = [h.id for h in households]
    db.session.execute(
        update(InviteCode)
        .where(InviteCode.household_id.in_(ids), InviteCode.used_at.is_(None),
               InviteCode.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    batch = InviteBatch(community_id=community.id, nonce=secrets.token_hex(32),
                        expires_at=now + timedelta(days=days), created_by_id=actor.id)
    db.session.add(batch)
    db.session.flush()
    for household in households:
        db.session.add(InviteCode(
            community_id=community.id, household_id=household.id, batch_id=batch.id,
            code_hash=token_hash(derive_code(batch, household.id)),
            expires_at=batch.expires_at, created_by_id=actor.id,
        ))
    try:
        db.session.flush()
    except IntegrityError:  # one live code per household, and someone else just issued one
        raise OperationError(_("Codes for these households were issued by someone else at the "
                               "same time. Look at the households list and try again.")) from None
    record("invite.issue", actor=actor, community=community, households=len(households),
           days=days)
    return batch


@dataclass
class CodeSheet:
    batch: InviteBatch
    slips: list[tuple[Household, str]]  # codes still usable, ready to print
    spent: int  # codes of this batch used, replaced or expired since


def code_sheet(batch: InviteBatch) -> CodeSheet:
    """The printable sheet of a batch: the codes that still work, derived again."""
    rows = db.session.execute(
        select(InviteCode, Household).join(Household, InviteCode.household_id == Household.id)
        .where(InviteCode.batch_id == batch.id).order_by(*Household.address_order())
    ).all()
    now = utcnow()
    slips, spent = [], 0
    for code, household in rows:
        if code.used_at or code.revoked_at or code.expires_at < now:
            spent += 1
        else:
            slips.append((household, format_code(derive_code(batch, household.id))))
    return CodeSheet(batch, slips, spent)


def redeem_invite(user: User, code: str) -> Membership:
    """Make the user a verified resident of the code's household. Each code works once."""
    invite = db.session.scalar(
        select(InviteCode).where(InviteCode.code_hash == token_hash(normalise_code(code)))
    )
    if invite is None or invite.revoked_at is not None:
        raise OperationError(_("This invite code is not valid. Check it against your slip."))
    if invite.used_at is not None:
        raise OperationError(_("This invite code has already been used. Ask the residents' "
                               "committee for a new one."))
    if invite.expires_at < utcnow():
        raise OperationError(_("This invite code has expired. Ask the residents' committee for "
                               "a new one."))
    claimed = db.session.execute(
        update(InviteCode)
        .where(InviteCode.id == invite.id, InviteCode.used_at.is_(None))
        .values(used_at=utcnow(), used_by_id=user.id)
    ).rowcount
    if claimed != 1:
        raise OperationError(_("This invite code has already been used. Ask the residents' "
                               "committee for a new one."))
    community = db.session.get(Community, invite.community_id)
    m = membership(user, community)
    if m is None:
        m = Membership(user_id=user.id, community_id=community.id, role=Role.VERIFIED.value)
        if not insert_unless_exists(m):
            m = membership(user, community)
    if m.revoked_at is not None:
        raise OperationError(_("Your membership of this community was revoked. "
                               "Please contact the residents' committee."))
    if m.household_id is not None and m.household_id != invite.household_id:
        raise OperationError(_("You are already verified for another household in this "
                               "community. Ask the residents' committee if you have moved."))
    if m.role == Role.RESIDENT.value:
        m.role = Role.VERIFIED.value
    m.household_id = invite.household_id
    m.verified_at = utcnow()
    user.current_community_id = community.id
    db.session.flush()
    record("invite.redeem", actor=user, community=community, target=f"user:{user.id}",
           household=invite.household.address)
    return m


def active_invite_counts(community: Community) -> dict[int, int]:
    rows = db.session.execute(
        select(InviteCode.household_id, func.count())
        .where(InviteCode.community_id == community.id, InviteCode.used_at.is_(None),
               InviteCode.revoked_at.is_(None), InviteCode.expires_at >= utcnow())
        .group_by(InviteCode.household_id)
    )
    return dict(rows.all())
