"""Telling members: notifications in the app, and by e-mail where configured.

Each function validates, writes, flushes and records an audit event; the request's single commit
happens after the view. They raise `OperationError` with a translated message when the change
cannot happen; nothing has been written when they do.
"""
from __future__ import annotations

import logging

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import JSON, insert, literal, select, update

from participation.accounts.models import User
from participation.clock import utcnow
from participation.communities.models import Community, Membership
from participation.extensions import db
from participation.mail import queue_mail
from participation.notifications import text as notification_text

from .models import Notification

log = logging.getLogger(__name__)


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
