"""Pages of discussions: topics, comments, answers, reports and moderation."""
from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from participation.communities.models import Community, Membership
from participation.communities.views import member_or_404
from participation.consultations import closed_because
from participation.consultations.models import Consultation
from participation.consultations.views import consultation_or_404
from participation.errors import OperationError
from participation.extensions import db, htmx
from participation.forms import EmptyForm
from participation.policy import can, membership_of, require
from participation.web import (
    field_error,
    paginate,
    paginate_rows,
    parse_id,
    render,
    see_other,
)

from . import operations as ops
from .forms import AnswerForm, CommentForm, EditCommentForm, ReasonForm, TopicForm
from .models import Comment, CommentVote, Report, Topic

bp = Blueprint("discussions", __name__)


def _topic(community: Community, topic_id: int) -> Topic:
    topic = db.session.scalar(
        select(Topic).where(Topic.id == topic_id)
        .options(joinedload(Topic.consultation).selectinload(Consultation.phases),
                 joinedload(Topic.author)))
    if topic is None or topic.consultation.community_id != community.id:
        abort(404)
    return topic


def _comment_in(community: Community, comment_id: int) -> Comment:
    comment = db.session.scalar(
        select(Comment).where(Comment.id == comment_id)
        .options(joinedload(Comment.topic).joinedload(Topic.consultation)
                 .selectinload(Consultation.phases)))
    if comment is None or comment.topic.consultation.community_id != community.id:
        abort(404)
    return comment


def comment_url(comment: Comment) -> str:
    community_id = comment.topic.consultation.community_id
    return url_for("discussions.topic", community_id=community_id, topic_id=comment.topic_id,
                   _anchor=f"comment-{comment.id}")


def topic_url(topic: Topic) -> str:
    return url_for("discussions.topic", community_id=topic.consultation.community_id, topic_id=topic.id)


@bp.route("/c/<int:community_id>/consultations/<int:consultation_id>/topics/new",
          methods=["GET", "POST"])
def new_topic(community_id: int, consultation_id: int):
    community = db.get_or_404(Community, community_id)
    require("consultation.view", community)
    consultation = consultation_or_404(community, consultation_id)
    require("discussion.open_topic", community, consultation,
            why=lambda: membership_of(current_user, community) and closed_because(
                consultation, "discussion.open_topic"))
    form = TopicForm()
    if form.validate_on_submit():
        topic = ops.open_topic(current_user, consultation, form.title.data, form.body.data or "")
        return see_other(url_for("discussions.topic", community_id=community.id, topic_id=topic.id))
    return render("discussions/topic_form.html", community=community,
                  consultation=consultation, form=form)


def _thread_page(topic: Topic, thread: int | None = None):
    """One page of threads with everything the template reads, in a fixed number of queries.

    Each thread shows its first replies; a long one links to a page of its own (`thread`)."""
    stmt = select(Comment).where(Comment.topic_id == topic.id, Comment.parent_id.is_(None))
    if thread is not None:
        stmt = stmt.where(Comment.id == thread)
    roots = paginate(
        stmt.options(joinedload(Comment.author))
        .order_by(Comment.pinned.desc(), Comment.is_official.desc(), Comment.created_at,
                  Comment.id),
        per_page=current_app.config["COMMENTS_PER_PAGE"])
    root_ids = [c.id for c in roots.items]
    limit = current_app.config["THREAD_REPLIES_MAX" if thread else "REPLIES_PER_THREAD"]
    # Replies come in time order, so a parent always ranks before its replies and a cut-off
    # never keeps a reply without the comment it answers.
    ranked = select(Comment.id, func.row_number().over(
        partition_by=Comment.root_id, order_by=(Comment.created_at, Comment.id)).label("n")
    ).where(Comment.root_id.in_(root_ids)).subquery()
    replies = db.session.scalars(
        select(Comment).join(ranked, ranked.c.id == Comment.id).where(ranked.c.n <= limit)
        .options(joinedload(Comment.author)).order_by(Comment.created_at, Comment.id)
    ).all() if root_ids else []
    totals = dict(db.session.execute(
        select(Comment.root_id, func.count()).where(Comment.root_id.in_(root_ids))
        .group_by(Comment.root_id)).all()) if root_ids else {}
    children: dict[int, list[Comment]] = {}
    shown: dict[int, int] = {}
    for reply in replies:
        children.setdefault(reply.parent_id, []).append(reply)
        shown[reply.root_id] = shown.get(reply.root_id, 0) + 1
    g.more_replies = {root: total - shown.get(root, 0) for root, total in totals.items()
                      if total > shown.get(root, 0)}
    ids = root_ids + [r.id for r in replies]
    votes = dict(db.session.execute(
        select(CommentVote.comment_id, func.count()).where(CommentVote.comment_id.in_(ids))
        .group_by(CommentVote.comment_id)).all()) if ids else {}
    mine = set(db.session.scalars(
        select(CommentVote.comment_id).where(CommentVote.comment_id.in_(ids),
                                             CommentVote.user_id == current_user.id)
    )) if ids else set()
    return roots, children, votes, mine, _stance_counts(topic)


def _stance_counts(topic: Topic) -> dict[str | None, int]:
    """Visible comments by stance; None counts those without one (replies among them), so the
    values add up to the topic's comment count."""
    return dict(db.session.execute(
        select(Comment.stance, func.count()).where(
            Comment.topic_id == topic.id,
            Comment.deleted_at.is_(None), Comment.hidden_at.is_(None))
        .group_by(Comment.stance)).all())


@bp.get("/c/<int:community_id>/topics/<int:topic_id>")
def topic(community_id: int, topic_id: int):
    community = db.get_or_404(Community, community_id)
    require("consultation.view", community)
    topic = _topic(community, topic_id)
    own = current_user.is_authenticated and topic.author_id == current_user.id
    if topic.hidden_at and not own and not can("moderation.manage", community):
        # Links to it (notifications, meeting agendas) still lead somewhere that explains.
        return render("discussions/topic_hidden.html", community=community, topic=topic)
    thread = parse_id(request.args.get("thread"))
    roots, children, votes, mine, stances = _thread_page(topic, thread)
    return render("discussions/topic.html", community=community, topic=topic, roots=roots,
                  children=children, votes=votes, mine=mine, stances=stances,
                  form=CommentForm(), answer_form=AnswerForm(),
                  reply_form=CommentForm(formdata=None),
                  membership=membership_of(current_user, community), thread=thread)


@bp.post("/c/<int:community_id>/topics/<int:topic_id>/comments")
def post_comment(community_id: int, topic_id: int):
    community = db.get_or_404(Community, community_id)
    require("consultation.view", community)
    topic = _topic(community, topic_id)
    require("discussion.comment", community, topic)
    form = CommentForm()
    parent = None
    if form.parent_id.data:
        parent_id = parse_id(form.parent_id.data)
        parent = _comment_in(community, parent_id) if parent_id else abort(404)
    if form.validate_on_submit():
        try:
            comment = ops.post_comment(current_user, topic, form.body.data,
                                       form.stance.data if parent is None else None,
                                       parent, comment_url)
        except OperationError as error:
            field_error(form.body, error)
        else:
            if htmx:
                # The new comment, plus a fresh, empty copy of the form that sent it (swapped
                # out of band), so the resident can write the next one.
                return render("discussions/_comment_posted.html", comment=comment,
                              parent=parent, children={}, votes={}, mine=set(),
                              community=community, topic=topic,
                              reply_form=CommentForm(formdata=None),
                              form=CommentForm(formdata=None),
                              stances=_stance_counts(topic))
            return see_other(comment_url(comment))
    if htmx:  # show the errors in the form that was sent
        target = f"#reply-form-{parent.id}" if parent else "#comment-form"
        html, status = render("discussions/_comment_form.html", form=form, parent=parent,
                              community=community, topic=topic)
        return html, status, {"HX-Retarget": target, "HX-Reswap": "outerHTML"}
    roots, children, votes, mine, stances = _thread_page(topic)
    return render("discussions/topic.html", community=community, topic=topic, roots=roots,
                  children=children, votes=votes, mine=mine, stances=stances,
                  form=form if parent is None else CommentForm(formdata=None),
                  answer_form=AnswerForm(formdata=None), failed_reply=(parent, form),
                  reply_form=CommentForm(formdata=None),
                  membership=membership_of(current_user, community))


@bp.route("/c/<int:community_id>/comments/<int:comment_id>/edit", methods=["GET", "POST"])
def edit_comment(community_id: int, comment_id: int):
    community = db.get_or_404(Community, community_id)
    require("consultation.view", community)
    comment = _comment_in(community, comment_id)
    if comment.author_id == current_user.id and not can("comment.edit", community, comment):
        flash(_("A comment can be edited for %(n)d minutes after posting; that time has passed.",
                n=current_app.config["COMMENT_EDIT_MINUTES"]), "error")
        return see_other(comment_url(comment))
    require("comment.edit", community, comment)
    form = EditCommentForm(obj=comment)
    if form.validate_on_submit():
        try:
            ops.edit_comment(current_user, comment, form.body.data, form.stance.data or None)
        except OperationError as error:
            field_error(form.body, error)
        else:
            return see_other(comment_url(comment))
    return render("discussions/comment_edit.html", community=community, comment=comment,
                  form=form)


@bp.route("/c/<int:community_id>/comments/<int:comment_id>/delete", methods=["GET", "POST"])
def delete_comment(community_id: int, comment_id: int):
    community = db.get_or_404(Community, community_id)
    require("consultation.view", community)
    comment = _comment_in(community, comment_id)
    require("comment.delete", community, comment)
    form = EmptyForm()
    if form.validate_on_submit():
        ops.delete_comment(current_user, comment)
        flash(_("The comment was deleted."), "success")
        return see_other(comment_url(comment))
    return render("discussions/comment_delete.html", community=community, comment=comment,
                  form=form)


@bp.post("/c/<int:community_id>/comments/<int:comment_id>/upvote")
def upvote(community_id: int, comment_id: int):
    return _set_upvote(community_id, comment_id, True)


@bp.post("/c/<int:community_id>/comments/<int:comment_id>/upvote/withdraw")
def withdraw_upvote(community_id: int, comment_id: int):
    return _set_upvote(community_id, comment_id, False)


def _set_upvote(community_id: int, comment_id: int, wanted: bool):
    """Upvote, or take an upvote back, while comments are open (two routes, so a double click
    leaves the state asked for)."""
    community = db.get_or_404(Community, community_id)
    require("consultation.view", community)
    comment = _comment_in(community, comment_id)
    require("comment.upvote", community, comment)
    if EmptyForm().validate_on_submit():
        if wanted:
            ops.upvote(current_user, comment)
        else:
            ops.withdraw_upvote(current_user, comment)
    if htmx:
        count = db.session.scalar(select(func.count()).select_from(CommentVote)
                                  .where(CommentVote.comment_id == comment.id))
        return render("discussions/_upvote.html", comment=comment, community=community,
                      count=count, voted=wanted, announce=True)
    return see_other(comment_url(comment))


@bp.post("/c/<int:community_id>/topics/<int:topic_id>/answer")
def answer_topic(community_id: int, topic_id: int):
    community = db.get_or_404(Community, community_id)
    topic = _topic(community, topic_id)
    require("comment.answer", community, topic)
    form = AnswerForm()
    if form.validate_on_submit():
        answer = ops.post_answer(current_user, topic, form.body.data, comment_url)
        flash(_("Your official answer is published."), "success")
        return see_other(comment_url(answer))
    flash(_("Write the answer before publishing it."), "error")
    return see_other(topic_url(topic))


@bp.post("/c/<int:community_id>/comments/<int:comment_id>/pin")
def pin_comment(community_id: int, comment_id: int):
    community = db.get_or_404(Community, community_id)
    comment = _comment_in(community, comment_id)
    require("comment.pin", community, comment)
    if EmptyForm().validate_on_submit():
        ops.set_pinned(current_user, comment, not comment.pinned)
    return see_other(comment_url(comment))


# --- reports and moderation -------------------------------------------------------------------


def _content(community: Community, kind: str, item_id: int):
    if kind == "topic":
        return _topic(community, item_id)
    return _comment_in(community, item_id)


def _content_url(target) -> str:
    return topic_url(target) if isinstance(target, Topic) else comment_url(target)


@bp.route("/c/<int:community_id>/report/<any(topic, comment):kind>/<int:item_id>",
          methods=["GET", "POST"])
def report(community_id: int, kind: str, item_id: int):
    community = db.get_or_404(Community, community_id)
    require("consultation.view", community)
    target = _content(community, kind, item_id)
    if ops.has_reported(current_user, target):
        flash(_("You have already reported this. The moderators will look at it."), "info")
        return see_other(_content_url(target))
    require("content.report", community, target, why=lambda: membership_of(
        current_user, community) and (target.hidden_at or target.deleted_at) and _(
        "This is no longer shown, so there is nothing to report."))
    form = ReasonForm()
    if form.validate_on_submit():
        if ops.report_content(current_user, community, target, form.reason.data,
                              _content_url(target)):
            flash(_("Thank you. The moderators will look at your report."), "success")
        else:
            flash(_("You have already reported this."), "info")
        return see_other(_content_url(target))
    return render("discussions/report.html", community=community, target=target, form=form)


@dataclass
class ReportedItem:
    """One reported topic or comment on the moderation page, with its open reports."""

    kind: str
    target: Topic | Comment
    reports: list[Report]

    @property
    def url(self) -> str:
        return _content_url(self.target)


@bp.get("/c/<int:community_id>/moderation")
def moderation(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("moderation.manage", community)
    open_here = (Report.community_id == community.id, Report.resolved_at.is_(None))
    # One card per reported item, the most recently reported first.
    latest = func.max(Report.created_at)
    page = paginate_rows(
        select(Report.topic_id, Report.comment_id).where(*open_here)
        .group_by(Report.topic_id, Report.comment_id)
        .order_by(latest.desc(), func.max(Report.id).desc()))
    topic_ids = [row.topic_id for row in page.items if row.topic_id]
    comment_ids = [row.comment_id for row in page.items if row.comment_id]
    reports = db.session.scalars(
        select(Report).where(*open_here, or_(Report.topic_id.in_(topic_ids),
                                             Report.comment_id.in_(comment_ids)))
        .options(joinedload(Report.reporter),
                 joinedload(Report.topic).joinedload(Topic.author),
                 joinedload(Report.comment).options(joinedload(Comment.author),
                                                    joinedload(Comment.topic)))
        .order_by(Report.created_at, Report.id)).all()
    grouped: dict[tuple, list[Report]] = {}
    for r in reports:
        grouped.setdefault((r.topic_id, r.comment_id), []).append(r)
    items = [ReportedItem("topic" if row.topic_id else "comment",
                          grouped[key][0].topic or grouped[key][0].comment, grouped[key])
             for row in page.items if (key := (row.topic_id, row.comment_id)) in grouped]
    page.items = items
    in_community = Consultation.community_id == community.id
    # Reported hidden content is handled in its card above; this lists the rest.
    hidden_topics = db.session.scalars(
        select(Topic).join(Consultation).where(in_community, Topic.hidden_at.is_not(None),
                                               Topic.id.not_in(topic_ids))
        .options(joinedload(Topic.author)).order_by(Topic.hidden_at.desc()).limit(50)).all()
    hidden_comments = db.session.scalars(
        select(Comment).join(Topic).join(Consultation)
        .where(in_community, Comment.hidden_at.is_not(None), Comment.id.not_in(comment_ids))
        .options(joinedload(Comment.author), joinedload(Comment.topic))
        .order_by(Comment.hidden_at.desc()).limit(50)).all()
    blocked = db.session.scalars(
        select(Membership).where(Membership.community_id == community.id,
                                 Membership.blocked_at.is_not(None))
        .options(joinedload(Membership.user)).order_by(Membership.blocked_at.desc())).all()
    authors = {item.target.author_id for item in items}
    memberships = {m.user_id: m for m in db.session.scalars(
        select(Membership).where(Membership.community_id == community.id,
                                 Membership.user_id.in_(authors)))}
    return render("discussions/moderation.html", community=community, page=page,
                  memberships=memberships, hidden_topics=hidden_topics,
                  hidden_comments=hidden_comments, blocked=blocked)


@bp.post("/c/<int:community_id>/moderation/<any(topic, comment):kind>/<int:item_id>/"
         "<any(hide, keep, dismiss, restore):action>")
def moderate(community_id: int, kind: str, item_id: int, action: str):
    """Decide on content: hide it (or keep hidden what reports hid), dismiss its reports (showing
    it again if it was hidden), or restore it; always with a reason, which is kept."""
    community = db.get_or_404(Community, community_id)
    require("moderation.manage", community)
    target = _content(community, kind, item_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Give a reason: it is kept with the decision, and the author sees it."),
              "error")
    elif action in ("hide", "keep"):
        ops.hide_content(current_user, community, target, form.reason.data, _content_url(target))
        flash(_("Hidden. The author has been told why."), "success")
    elif action == "dismiss":
        shown_again = target.hidden_at is not None
        ops.dismiss_reports(current_user, community, target, form.reason.data,
                            _content_url(target))
        flash(_("The reports are dismissed and it is shown again. The author has been told "
                "why.") if shown_again else _("The reports are dismissed."), "success")
    else:
        ops.restore_content(current_user, community, target, form.reason.data,
                            _content_url(target))
        flash(_("Restored."), "success")
    return see_other(url_for("discussions.moderation", community_id=community.id))


@bp.route("/c/<int:community_id>/moderation/block/<int:membership_id>",
          methods=["GET", "POST"])
def block_member(community_id: int, membership_id: int):
    community = db.get_or_404(Community, community_id)
    require("moderation.manage", community)
    m = member_or_404(community, membership_id)
    require("moderation.block", community, m)
    form = ReasonForm()
    if m.blocked_at is not None:
        if EmptyForm().validate_on_submit():
            ops.unblock_member(current_user, m)
            flash(_("%(name)s may post again.", name=m.user.display_name), "success")
            return see_other(url_for("discussions.moderation", community_id=community.id))
    elif form.validate_on_submit():
        ops.block_member(current_user, m, form.reason.data,
                         url_for("communities.community", community_id=community.id))
        flash(_("%(name)s can no longer post in this community.", name=m.user.display_name),
              "success")
        return see_other(url_for("discussions.moderation", community_id=community.id))
    return render("discussions/block.html", community=community, member=m, form=form)


def consultation_topics(consultation) -> dict:
    """The discussion part of a consultation's page: its topics with their comment counts, and
    the latest comments."""
    topics = db.session.execute(
        select(Topic, func.count(Comment.id))
        .outerjoin(Comment, (Comment.topic_id == Topic.id) & Comment.deleted_at.is_(None)
                   & Comment.hidden_at.is_(None))
        .where(Topic.consultation_id == consultation.id, Topic.hidden_at.is_(None))
        .group_by(Topic.id).order_by(Topic.created_at.desc())
        .options(joinedload(Topic.author))
    ).all()
    latest = db.session.scalars(
        select(Comment).join(Topic)
        .where(Topic.consultation_id == consultation.id, Comment.deleted_at.is_(None),
               Comment.hidden_at.is_(None), Topic.hidden_at.is_(None))
        .options(joinedload(Comment.author), joinedload(Comment.topic))
        .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(5)
    ).all()
    return {"topics": topics, "latest": latest}
