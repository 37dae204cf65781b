"""Pages of notifications: the list, and marking as read."""
from __future__ import annotations

from flask import (
    Blueprint,
    g,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import bindparam, func, select

from participation.extensions import db
from participation.forms import EmptyForm
from participation.notifications import text
from participation.policy import require
from participation.web import (
    paginate,
    parse_id,
    render,
    safe_next,
    see_other,
)

from . import operations as ops
from .models import Notification

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
def notifications():
    require("account.use")
    page = paginate(select(Notification).where(Notification.user_id == current_user.id)
                    .order_by(Notification.created_at.desc(), Notification.id.desc()))
    return render("notifications/notifications.html", page=page, form=EmptyForm())


@bp.post("/notifications/read")
def read_notifications():
    require("account.use")
    if EmptyForm().validate_on_submit():
        notification_id = parse_id(request.form.get("id"))
        ops.mark_read(current_user, notification_id)
        if notification_id:
            target = db.session.get(Notification, notification_id)
            if target is not None and target.user_id == current_user.id:
                return see_other(safe_next(target.url, url_for("notifications.notifications")))
    return see_other(url_for("notifications.notifications"))


# Every signed-in page counts them: the statement is built once.
UNREAD = (select(func.count()).select_from(Notification)
          .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None)))


def notification_context() -> dict:
    # Counted once per request, however many templates it renders (a page and its parts).
    if "unread_notifications" not in g:
        user = current_user._get_current_object()
        # A count needs no ORM: asked on the session's connection, in its transaction.
        g.unread_notifications = db.session.connection().scalar(UNREAD, {"user_id": user.id}) \
            if user.is_authenticated else 0
    return {"unread_notifications": g.unread_notifications,
            "notification_text": lambda n: text(n.kind, n.params)}
