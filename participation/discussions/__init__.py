"""Discussions: topics and threaded comments with stances, upvotes, the planner's official
answers, and moderation (reports, hiding and restoring, blocking members)."""
from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from participation import audit, notifications
from participation.communities import targets_other_resident
from participation.consultations import consultation_running, phase_open
from participation.policy import (
    Context,
    all_of,
    any_of,
    content_live,
    is_admin,
    is_author,
    is_member,
    is_moderator,
    is_official,
    is_planner,
    may_post,
    not_blocked,
    within_edit_window,
)
from participation.registries import ConsultationPanel, add_consultation_panel, plug_in


def topic_live(ctx: Context) -> bool:
    """The discussion the object belongs to has not been hidden by a moderator."""
    from .models import Comment, Topic

    topic = ctx.obj if isinstance(ctx.obj, Topic) else \
        ctx.obj.topic if isinstance(ctx.obj, Comment) else None
    return topic is None or topic.hidden_at is None


RULES = {
    # Anyone reads discussions; members write in them, those not yet verified only where the
    # community allows it.
    "discussion.open_topic": all_of(
        may_post, any_of(all_of(is_planner, consultation_running),
                         phase_open("discussion.open_topic"))),
    "discussion.comment": all_of(may_post, topic_live, phase_open("discussion.comment")),
    "comment.upvote": all_of(may_post, content_live, topic_live,
                             lambda ctx: not is_author(ctx), phase_open("discussion.comment")),
    "comment.edit": all_of(not_blocked, is_author, content_live, within_edit_window),
    "comment.delete": all_of(content_live, any_of(is_author, is_moderator, is_admin)),
    "comment.answer": all_of(any_of(is_planner, is_admin), consultation_running),
    "comment.pin": all_of(any_of(is_planner, is_admin), is_official, content_live),
    "content.report": all_of(is_member, content_live, topic_live),
    "moderation.manage": any_of(is_moderator, is_admin),
    # Moderators block residents; staff roles are the platform admin's to manage.
    "moderation.block": any_of(is_admin, all_of(is_moderator, targets_other_resident)),
}


def stance_label(stance: str) -> str:
    return {"support": _("Support"), "oppose": _("Oppose"), "neutral": _("Neutral")}.get(
        stance, stance)


def _hidden_notice(p: dict) -> str:
    if p.get("reports"):
        return ngettext("Something you wrote was hidden after %(num)d report; a moderator will "
                        "look at it.", "Something you wrote was hidden after %(num)d reports; "
                        "a moderator will look at it.", p["reports"])
    return _("A moderator hid something you wrote: %(reason)s", reason=p.get("reason"))


def _topics(ids: set[int]) -> dict:
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from participation.extensions import db

    from .models import Topic
    from .views import topic_url

    return {t.id: (_("the topic “%(title)s”", title=t.title), topic_url(t))
            for t in db.session.scalars(select(Topic).where(Topic.id.in_(ids))
                                        .options(joinedload(Topic.consultation)))}


def _comments(ids: set[int]) -> dict:
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from participation.extensions import db

    from .models import Comment, Topic
    from .views import comment_url

    return {c.id: (_("a comment in “%(title)s”", title=c.topic.title), comment_url(c))
            for c in db.session.scalars(
                select(Comment).where(Comment.id.in_(ids))
                .options(joinedload(Comment.topic).joinedload(Topic.consultation)))}


def init_app(app: Flask) -> None:
    from .views import bp, consultation_topics

    plug_in(app, bp, RULES)
    add_consultation_panel(ConsultationPanel("discussions/_consultation_panel.html",
                                             consultation_topics, order=90))
    app.jinja_env.globals.update(stance_label=stance_label)
    notifications.register("comment.reply", lambda p: _(
        "%(name)s replied to your comment in “%(topic)s”.", name=p.get("name"),
        topic=p.get("topic")))
    notifications.register("comment.answer", lambda p: _(
        "The responsible planner answered your topic “%(topic)s”.", topic=p.get("topic")))
    notifications.register("content.hidden", _hidden_notice)
    notifications.register("content.restored", lambda p: _(
        "A moderator restored something you wrote: %(reason)s", reason=p.get("reason")))
    notifications.register("member.blocked", lambda p: _(
        "A moderator stopped you from posting in %(community)s: %(reason)s",
        community=p.get("community"), reason=p.get("reason")))
    notifications.register("comment.on_topic", lambda p: _(
        "%(name)s commented on your topic “%(topic)s”.", name=p.get("name"),
        topic=p.get("topic")))
    audit.describe({
        "comment.answer": _l("Published an official answer: %(object)s"),
        "comment.pin": _l("Pinned %(object)s"),
        "comment.unpin": _l("Unpinned %(object)s"),
        "comment.delete": _l("Deleted %(object)s, written by someone else"),
        "content.report": _l("Reported %(object)s"),
        "topic.hide": _l("Hid %(object)s"),
        "comment.hide": _l("Hid %(object)s"),
        "topic.hidden_by_reports": _l("Hid %(object)s automatically after reports"),
        "comment.hidden_by_reports": _l("Hid %(object)s automatically after reports"),
        "topic.keep_hidden": _l("Kept %(object)s hidden after reports"),
        "comment.keep_hidden": _l("Kept %(object)s hidden after reports"),
        "topic.dismiss_reports": _l("Dismissed the reports on %(object)s"),
        "comment.dismiss_reports": _l("Dismissed the reports on %(object)s"),
        "topic.restore": _l("Showed %(object)s again"),
        "comment.restore": _l("Showed %(object)s again"),
        "membership.block": _l("Stopped %(object)s from posting"),
        "membership.unblock": _l("Let %(object)s post again"),
    }, details={"reports": _l("Reports"), "restored": _l("Shown again"), "member": _l("Member")})
    audit.name_objects("topic", _topics, _l("a deleted topic"))
    audit.name_objects("comment", _comments, _l("a deleted comment"))
