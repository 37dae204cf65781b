"""State changes of the core. Each function validates, writes, flushes and records an audit event;
the request's single commit happens in the view layer's teardown.

Functions raise `OperationError` with a translated message when the change cannot happen; nothing
has been written when they do.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
import secrets
import smtplib
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage

from flask import current_app, g, session
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_user, logout_user
from sqlalchemy import JSON, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .extensions import db
from .models import (
    STANCES,
    AgendaItem,
    AuditEvent,
    Comment,
    CommentVote,
    Community,
    Consultation,
    Household,
    InviteBatch,
    InviteCode,
    Meeting,
    MeetingPhoto,
    Membership,
    Notification,
    PasswordResetToken,
    Phase,
    Report,
    Role,
    Topic,
    User,
    UserSession,
    utcnow,
)
from .notifications import text as notification_text
from .phases import PHASE_KINDS, TEMPLATES
from .security import (
    DUMMY_PASSWORD_HASH,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)

log = logging.getLogger(__name__)


class OperationError(Exception):
    """A change refused for a reason the user can act on; the message is already translated."""


def insert_unless_exists(obj) -> bool:
    """Add `obj`; False when a unique constraint shows a concurrent request already added it.

    The savepoint keeps the rest of the request's transaction intact either way.
    """
    # Added inside the savepoint: begin_nested() first flushes what is pending, and a failing
    # INSERT flushed there would roll back the whole request's transaction.
    try:
        with db.session.begin_nested():
            db.session.add(obj)
            db.session.flush()
    except IntegrityError:
        return False
    return True


def record(action: str, *, actor: User | None, community: Community | None = None,
           target: str | None = None, **details) -> AuditEvent:
    """Add an audit event to the current transaction."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        community_id=community.id if community else None,
        target=target,
        details=details,
    )
    db.session.add(event)
    return event


# --- accounts ---------------------------------------------------------------------------------


def normalise_login(value: str) -> tuple[str, str]:
    """Split a login into ("email", address) or ("phone", digits)."""
    value = value.strip()
    if "@" in value:
        return "email", value.lower()
    digits = "".join(ch for ch in value if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return "phone", digits


def find_user(login: str) -> User | None:
    kind, value = normalise_login(login)
    column = User.email if kind == "email" else User.phone
    return db.session.scalar(select(User).where(column == value))


def register_user(display_name: str, login: str, password: str, locale: str | None = None,
                  large_text: bool = False) -> User:
    # Hash before the first query: on SQLite that query takes the write lock for the request.
    password_hash = hash_password(password)
    kind, value = normalise_login(login)
    taken = _("This phone number or e-mail is already registered. Log in, or reset the password.")
    if find_user(login) is not None:
        raise OperationError(taken)
    user = User(display_name=display_name.strip(), password_hash=password_hash, locale=locale,
                large_text=large_text)
    setattr(user, kind, value)
    if not insert_unless_exists(user):  # a second submission raced the first one
        raise OperationError(taken)
    record("user.register", actor=user, target=f"user:{user.id}")
    return user


def authenticate(login: str, password: str) -> User | None:
    """Return the user for these credentials; takes the same time whether or not they exist."""
    user = find_user(login)
    if user is None:
        verify_password(DUMMY_PASSWORD_HASH, password)
        return None
    user_id, stored = user.id, user.password_hash
    # End the lookup's transaction before the deliberately slow hash check, so that on SQLite
    # no write lock is held while it runs.
    db.session.rollback()
    if not verify_password(stored, password):
        return None
    return db.session.get(User, user_id)


KEPT_ACROSS_LOGIN = ("locale", "large_text", "csrf_token")


def start_session(user: User) -> None:
    """Sign the user in on this browser with a fresh, server-side revocable session."""
    token = new_token()
    db.session.add(UserSession(user_id=user.id, token_hash=token_hash(token)))
    # Start from a clean session, keeping the language and the form token: a double-clicked
    # login or registration form then meets a calm redirect, not a "form expired" page.
    kept = {key: session[key] for key in KEPT_ACROSS_LOGIN if key in session}
    session.clear()
    session.update(kept)
    session["sid"] = token
    login_user(user)


def session_is_live(user_id: int, token: str | None) -> bool:
    if not token:
        return False
    return db.session.scalar(
        select(UserSession.id).where(
            UserSession.user_id == user_id,
            UserSession.token_hash == token_hash(token),
            UserSession.revoked_at.is_(None),
        )
    ) is not None


def end_session() -> None:
    """Log out: the session row is revoked, so the old cookie is worthless if replayed."""
    token = session.get("sid")
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == token_hash(token))
            .values(revoked_at=utcnow())
        )
    logout_user()
    session.clear()


def revoke_all_sessions(user: User) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def change_password(user: User, new_password: str, *, keep_signed_in: bool = True) -> None:
    """Set a new password and sign out every other browser."""
    user.password_hash = hash_password(new_password)
    revoke_all_sessions(user)
    record("user.password_changed", actor=user, target=f"user:{user.id}")
    if keep_signed_in:
        start_session(user)


def update_preferences(user: User | None, *, locale: str | None = None,
                       large_text: bool | None = None) -> None:
    """Remember language and large-text mode: on the account if signed in, else in the session."""
    if locale is not None:
        if locale not in current_app.config["LANGUAGES"]:
            raise OperationError(_("That language is not available."))
        session["locale"] = locale
        if user is not None:
            user.locale = locale
    if large_text is not None:
        session["large_text"] = large_text
        if user is not None:
            user.large_text = large_text


def request_password_reset(login: str, reset_url) -> None:
    """Create a single-use reset token and deliver the link. Says nothing about whether the
    account exists: the caller shows the same message either way."""
    user = find_user(login)
    if user is None:
        return
    token = new_token()
    hours = current_app.config["PASSWORD_RESET_HOURS"]
    db.session.add(PasswordResetToken(
        user_id=user.id, token_hash=token_hash(token),
        expires_at=utcnow() + timedelta(hours=hours),
    ))
    record("user.password_reset_requested", actor=user, target=f"user:{user.id}")
    url = reset_url(token)
    if user.email and current_app.config.get("MAIL_SERVER"):
        # In the account holder's language, and sent in the background: the answer must not
        # take longer for an existing account than for an unknown one.
        with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            subject = _("Reset your Linli password")
            body = ngettext("Open this link within %(num)d hour to set a new password: %(url)s",
                            "Open this link within %(num)d hours to set a new password: %(url)s",
                            hours, url=url)
        queue_mail([(user.email, subject, body)])
    else:
        # No mail server (a community centre laptop): the operator reads the link from the log.
        log.warning("password reset link for user %s (no mail server configured): %s",
                    user.id, url)


def reset_token_user(token: str) -> PasswordResetToken | None:
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token))
    )
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        return None
    return row


def reset_password(token: str, new_password: str) -> User:
    row = reset_token_user(token)
    if row is None:
        raise OperationError(_("This reset link has expired or was already used. Ask for a new one."))
    # Single use even under a double submit: only one UPDATE finds used_at still empty.
    claimed = db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if claimed != 1:
        raise OperationError(_("This reset link has expired or was already used. Ask for a new one."))
    user = db.session.get(User, row.user_id)
    change_password(user, new_password, keep_signed_in=False)
    return user


def send_mail(cfg: dict, to: str, subject: str, body: str) -> None:
    """Deliver one message through the configured SMTP server; failures are logged, not raised."""
    try:
        message = EmailMessage()
        message["From"] = cfg["MAIL_SENDER"]
        message["To"] = to
        message["Subject"] = " ".join(subject.split())  # no line breaks from user titles
        message.set_content(body)
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
            if cfg["MAIL_USE_TLS"]:
                smtp.starttls()
            if cfg["MAIL_USERNAME"]:
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(message)
    except (OSError, ValueError, smtplib.SMTPException) as exc:
        log.error("mail to user could not be sent: %s", exc.__class__.__name__)


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


# --- notifications ----------------------------------------------------------------------------


def notify(user_ids, kind: str, url: str, **params) -> None:
    """Tell these users something in-app (and by e-mail where SMTP is configured)."""
    ids = sorted(set(user_ids))
    if not ids:
        return
    db.session.execute(insert(Notification), [
        {"user_id": uid, "kind": kind, "url": url, "params": params, "created_at": utcnow()}
        for uid in ids
    ])
    _mail_notifications(select(User).where(User.id.in_(ids)), kind, url, params)


def _mail_notifications(users, kind: str, url: str, params: dict) -> None:
    """Where SMTP is configured, also e-mail users who have an address, each in their language,
    in the background."""
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        return
    link = (cfg.get("BASE_URL") or "").rstrip("/") + url
    messages = []
    for user in db.session.scalars(users.where(User.email.is_not(None))):
        with force_locale(user.locale or cfg["BABEL_DEFAULT_LOCALE"]):
            body = notification_text(kind, params)
            messages.append((user.email, _("Linli: %(text)s", text=body)[:150],
                             f"{body}\n\n{link}"))
    queue_mail(messages)


def queue_mail(messages: list[tuple[str, str, str]]) -> None:
    """Mail goes out only once the request's transaction is committed (see `send_queued_mail`),
    never about something that was then rolled back; and in the background, so an answer takes
    no longer when there is mail to send."""
    if messages:
        g.setdefault("outbox", []).extend(messages)


def send_queued_mail() -> None:
    """Send what `queue_mail` collected; called right after the commit."""
    messages = g.pop("outbox", None)
    if messages:
        threading.Thread(target=_send_all, args=(current_app.config.copy(), messages),
                         daemon=True).start()


def drop_queued_mail() -> None:
    g.pop("outbox", None)


def _send_all(cfg: dict, messages: list[tuple[str, str, str]]) -> None:
    for to, subject, body in messages:
        send_mail(cfg, to, subject, body)


def notify_members(community: Community, kind: str, url: str, exclude: int | None = None,
                   **params) -> None:
    """Tell every active member of a community, in one INSERT ... SELECT."""
    members = select(
        Membership.user_id, literal(kind), literal(url), literal(params, JSON), literal(utcnow())
    ).where(Membership.community_id == community.id, Membership.revoked_at.is_(None))
    if exclude is not None:
        members = members.where(Membership.user_id != exclude)
    db.session.execute(insert(Notification).from_select(
        ["user_id", "kind", "url", "params", "created_at"], members))
    _mail_notifications(
        select(User).join(Membership, Membership.user_id == User.id).where(
            Membership.community_id == community.id, Membership.revoked_at.is_(None),
            User.id != (exclude or 0)),
        kind, url, params)


def mark_read(user: User, notification_id: int | None = None) -> None:
    stmt = update(Notification).where(Notification.user_id == user.id,
                                      Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    db.session.execute(stmt.values(read_at=utcnow()))


# --- consultations ----------------------------------------------------------------------------


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
    from .phases import phase_guards

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


# --- discussions ------------------------------------------------------------------------------


def open_topic(user: User, consultation: Consultation, title: str, body: str) -> Topic:
    topic = Topic(consultation_id=consultation.id, author_id=user.id, title=title.strip(),
                  body=body)
    db.session.add(topic)
    db.session.flush()
    return topic


def post_comment(user: User, topic: Topic, body: str, stance: str | None,
                 parent: Comment | None, reply_url) -> Comment:
    """Comment on a topic, or reply to a comment (three levels deep at most)."""
    if stance is not None and stance not in STANCES:
        raise OperationError(_("Choose support, oppose or neutral."))
    depth, root_id, replied_to = 0, None, parent
    if parent is not None:
        if parent.topic_id != topic.id:
            raise OperationError(_("That comment is not in this discussion."))
        if parent.deleted_at is not None or parent.hidden_at is not None:
            raise OperationError(_("This comment can no longer be answered."))
        # Replies deeper than three levels join the deepest level, so threads stay readable.
        depth = min(parent.depth + 1, 2)
        root_id = parent.root_id or parent.id
        if parent.depth == 2:
            parent = db.session.get(Comment, parent.parent_id)
    comment = Comment(topic_id=topic.id, author_id=user.id, body=body, stance=stance,
                      parent_id=parent.id if parent else None, root_id=root_id, depth=depth)
    db.session.add(comment)
    db.session.flush()
    if replied_to is not None and replied_to.author_id and replied_to.author_id != user.id:
        notify([replied_to.author_id], "comment.reply", reply_url(comment),
               name=user.display_name, topic=topic.title)
    elif parent is None and topic.author_id and topic.author_id != user.id:
        notify([topic.author_id], "comment.on_topic", reply_url(comment),
               name=user.display_name, topic=topic.title)
    return comment


def edit_comment(user: User, comment: Comment, body: str, stance: str | None) -> None:
    if stance is not None and stance not in STANCES:
        raise OperationError(_("Choose support, oppose or neutral."))
    comment.body = body
    comment.stance = stance if comment.depth == 0 and not comment.is_official else comment.stance
    comment.edited_at = utcnow()


def delete_comment(actor: User, comment: Comment) -> None:
    """Leave a tombstone: the thread stays readable, the words are gone."""
    comment.deleted_at = utcnow()
    comment.body = ""
    if actor.id != comment.author_id:
        record("comment.delete", actor=actor, community=comment.topic.consultation.community,
               target=f"comment:{comment.id}")


def upvote(user: User, comment: Comment) -> bool:
    """Add the user's one upvote; False when it was already there (a double click)."""
    return insert_unless_exists(CommentVote(comment_id=comment.id, user_id=user.id))


def post_answer(planner: User, topic: Topic, body: str, answer_url) -> Comment:
    """The planner's official answer, marked as such."""
    answer = Comment(topic_id=topic.id, author_id=planner.id, body=body, is_official=True)
    db.session.add(answer)
    db.session.flush()
    if topic.author_id and topic.author_id != planner.id:
        notify([topic.author_id], "comment.answer", answer_url(answer), topic=topic.title)
    record("comment.answer", actor=planner, community=topic.consultation.community,
           target=f"comment:{answer.id}")
    return answer


def set_pinned(planner: User, comment: Comment, pinned: bool) -> None:
    comment.pinned = pinned
    record("comment.pin" if pinned else "comment.unpin", actor=planner,
           community=comment.topic.consultation.community, target=f"comment:{comment.id}")


# --- moderation -------------------------------------------------------------------------------


def _target_filter(target):
    return Report.topic_id == target.id if isinstance(target, Topic) else \
        Report.comment_id == target.id


def report_content(user: User, community: Community, target, reason: str, url: str) -> bool:
    """Record a report; hide the content once enough members reported it. False when this
    member had reported it already."""
    report = Report(community_id=community.id, reporter_id=user.id, reason=reason.strip(),
                    topic_id=target.id if isinstance(target, Topic) else None,
                    comment_id=target.id if isinstance(target, Comment) else None)
    # Lock the reported row, so simultaneous reports count each other before the threshold.
    db.session.execute(select(type(target).id).where(type(target).id == target.id)
                       .with_for_update())
    if not insert_unless_exists(report):
        return False
    kind = "topic" if isinstance(target, Topic) else "comment"
    record("content.report", actor=user, community=community, target=f"{kind}:{target.id}",
           reason=report.reason)
    # Only verified members' reports count toward hiding, so a handful of fresh accounts cannot
    # silence anyone; a planner's official answer is left to the moderators.
    open_reports = db.session.scalar(
        select(func.count()).select_from(Report)
        .join(Membership, (Membership.user_id == Report.reporter_id)
              & (Membership.community_id == Report.community_id))
        .where(_target_filter(target), Report.resolved_at.is_(None),
               Membership.role != Role.RESIDENT.value, Membership.revoked_at.is_(None)))
    threshold = current_app.config["REPORTS_TO_HIDE"]
    official = getattr(target, "is_official", False)
    if target.hidden_at is None and not official and open_reports >= threshold:
        _hide(None, community, target,
              _("Hidden automatically after %(n)d reports, until a moderator looks at it.",
                n=threshold), url)
    return True


def _hide(actor: User | None, community: Community, target, reason: str, url: str) -> None:
    target.hidden_at = utcnow()
    target.hidden_reason = reason
    kind = "topic" if isinstance(target, Topic) else "comment"
    record(f"{kind}.hide", actor=actor, community=community, target=f"{kind}:{target.id}",
           reason=reason)
    if target.author_id:
        notify([target.author_id], "content.hidden", url, reason=reason)


def hide_content(moderator: User, community: Community, target, reason: str, url: str) -> None:
    _hide(moderator, community, target, reason.strip(), url)
    _resolve_reports(target)


def restore_content(moderator: User, community: Community, target, reason: str,
                    url: str) -> None:
    target.hidden_at = None
    target.hidden_reason = None
    _resolve_reports(target)
    kind = "topic" if isinstance(target, Topic) else "comment"
    record(f"{kind}.restore", actor=moderator, community=community,
           target=f"{kind}:{target.id}", reason=reason.strip())
    if target.author_id:
        notify([target.author_id], "content.restored", url, reason=reason.strip())


def _resolve_reports(target) -> None:
    db.session.execute(update(Report).where(_target_filter(target), Report.resolved_at.is_(None))
                       .values(resolved_at=utcnow()))


def block_member(moderator: User, m: Membership, reason: str, url: str) -> None:
    m.blocked_at = utcnow()
    m.blocked_reason = reason.strip()
    record("membership.block", actor=moderator, community=m.community,
           target=f"user:{m.user_id}", member=m.user.display_name, reason=m.blocked_reason)
    notify([m.user_id], "member.blocked", url, community=m.community.name,
           reason=m.blocked_reason)


def unblock_member(moderator: User, m: Membership) -> None:
    m.blocked_at = None
    m.blocked_reason = None
    record("membership.unblock", actor=moderator, community=m.community,
           target=f"user:{m.user_id}", member=m.user.display_name)


# --- meetings ---------------------------------------------------------------------------------


def save_meeting(planner: User, community: Community, meeting: Meeting | None, *, title: str,
                 held_at: datetime, place: str, attendance: int, attendee_names: str | None,
                 minutes: str, items: list[tuple[str, int | None, str]], publish: bool,
                 url_for_meeting, photos: list[str] = (),
                 remove_photos: list[int] = ()) -> Meeting:
    """Create or update a meeting record with its agenda items (title, topic id, decision)."""
    topic_ids = {tid for _t, tid, _d in items if tid}
    if topic_ids:
        known = set(db.session.scalars(
            select(Topic.id).join(Consultation).where(
                Topic.id.in_(topic_ids), Consultation.community_id == community.id)))
        if topic_ids - known:
            raise OperationError(_("An agenda item links to a topic of another community."))
    if meeting is None:
        meeting = Meeting(community_id=community.id, created_by_id=planner.id)
        db.session.add(meeting)
    meeting.title, meeting.held_at, meeting.place = title.strip(), held_at, place.strip()
    meeting.attendance, meeting.attendee_names = attendance, attendee_names or None
    meeting.minutes = minutes
    meeting.items.clear()
    db.session.flush()
    for position, (item_title, topic_id, decision) in enumerate(items, start=1):
        meeting.items.append(AgendaItem(position=position, title=item_title.strip(),
                                        topic_id=topic_id, decision=decision))
    for photo in [p for p in meeting.photos if p.id in set(remove_photos)]:
        meeting.photos.remove(photo)
    meeting.photos.extend(MeetingPhoto(filename=name) for name in photos)
    first_publication = publish and meeting.published_at is None
    if first_publication:
        meeting.published_at = utcnow()
    db.session.flush()
    record("meeting.save", actor=planner, community=community, target=f"meeting:{meeting.id}",
           title=meeting.title)
    if first_publication:
        notify_members(community, "meeting.published", url_for_meeting(meeting),
                       exclude=planner.id, title=meeting.title)
    return meeting
