"""State changes of discussions: topics, comments, answers, reports and moderation.

Each function validates, writes, flushes and records an audit event; the request's single commit
happens after the view. They raise `OperationError` with a translated message when the change
cannot happen; nothing has been written when they do.
"""
from __future__ import annotations

import logging

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from participation.accounts.models import User
from participation.audit.operations import record
from participation.clock import utcnow
from participation.communities.models import Community, Membership
from participation.consultations.models import Consultation
from participation.database import insert_unless_exists
from participation.errors import OperationError
from participation.extensions import db
from participation.notifications.operations import notify
from participation.policy import Role

from .models import STANCES, Comment, CommentVote, Report, Topic

log = logging.getLogger(__name__)


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


def withdraw_upvote(user: User, comment: Comment) -> bool:
    """Take the user's upvote back; False when there was none (a double click)."""
    return db.session.execute(delete(CommentVote).where(
        CommentVote.comment_id == comment.id, CommentVote.user_id == user.id)).rowcount > 0


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


def has_reported(user, target) -> bool:
    return user.is_authenticated and db.session.scalar(select(Report.id).where(
        _target_filter(target), Report.reporter_id == user.id)) is not None


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
        # Hidden by the reports, not by anyone: it says so, and waits for a moderator.
        target.hidden_at = utcnow()
        target.hidden_reason = None
        target.hidden_after_reports = open_reports
        record(f"{kind}.hidden_by_reports", actor=None, community=community,
               target=f"{kind}:{target.id}", reports=open_reports)
        if target.author_id:
            notify([target.author_id], "content.hidden", url, reports=open_reports)
    return True


def _kind(target) -> str:
    return "topic" if isinstance(target, Topic) else "comment"


def hide_content(moderator: User, community: Community, target, reason: str, url: str) -> None:
    """Hide content, or keep hidden what reports hid: either way a moderator's decision now,
    with the reason the author is told; the open reports are settled as kept."""
    reason = reason.strip()
    kind = _kind(target)
    kept = target.hidden_at is not None
    if not kept:
        target.hidden_at = utcnow()
    target.hidden_reason = reason
    target.hidden_after_reports = None
    reports = _resolve_reports(target, moderator, "kept", reason)
    record(f"{kind}.keep_hidden" if kept else f"{kind}.hide", actor=moderator,
           community=community, target=f"{kind}:{target.id}", reason=reason,
           reports=reports or None)
    if target.author_id:
        notify([target.author_id], "content.hidden", url, reason=reason)


def dismiss_reports(moderator: User, community: Community, target, reason: str,
                    url: str) -> None:
    """The reports do not hold: settle them as dismissed, and show the content again if it was
    hidden (its author is told why)."""
    reason = reason.strip()
    kind = _kind(target)
    reports = _resolve_reports(target, moderator, "dismissed", reason)
    restored = target.hidden_at is not None
    if restored:
        _show_again(target, url, reason)
    record(f"{kind}.dismiss_reports", actor=moderator, community=community,
           target=f"{kind}:{target.id}", reason=reason, reports=reports, restored=restored)


def restore_content(moderator: User, community: Community, target, reason: str,
                    url: str) -> None:
    """Show hidden content again (any reports on it are dismissed with the same reason)."""
    reason = reason.strip()
    _resolve_reports(target, moderator, "dismissed", reason)
    _show_again(target, url, reason)
    kind = _kind(target)
    record(f"{kind}.restore", actor=moderator, community=community,
           target=f"{kind}:{target.id}", reason=reason)


def _show_again(target, url: str, reason: str) -> None:
    target.hidden_at = None
    target.hidden_reason = None
    target.hidden_after_reports = None
    if target.author_id:
        notify([target.author_id], "content.restored", url, reason=reason)


def _resolve_reports(target, moderator: User, outcome: str, reason: str) -> int:
    """Settle the open reports of the content; how many there were."""
    return db.session.execute(
        update(Report).where(_target_filter(target), Report.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolved_by_id=moderator.id, outcome=outcome,
                resolution_reason=reason)).rowcount


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
