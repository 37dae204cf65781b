"""The guardian's pages: the children's information notice, consent, children's profiles,
withdrawal."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from participation.communities.models import Community
from participation.errors import OperationError
from participation.extensions import db
from participation.forms import EmptyForm
from participation.policy import require
from participation.web import form_status, render, see_other

from . import operations as ops
from .forms import ChildForm, ConsentForm
from .models import ChildProfile

bp = Blueprint("children", __name__)


def _community(community_id: int) -> Community:
    return db.get_or_404(Community, community_id)


def _index(community: Community) -> str:
    return url_for("children.index", community_id=community.id)


def _guardian(community: Community) -> None:
    require("children.guardian", community, why=lambda: _(
        "Verified residents of the community add their children here."))


def _own(community: Community) -> None:
    """Seeing, deleting and withdrawing need no role: a guardian blocked, moved out or no
    longer verified still deletes their children's data at any time."""
    require("children.own", community)


@bp.get("/c/<int:community_id>/children/notice")
def notice(community_id: int):
    """The children's information notice, readable by anyone before deciding."""
    community = _community(community_id)
    require("children.notice", community)
    return render("children/notice.html", community=community, version=ops.notice_version(),
                  contact=current_app.config["CHILDREN_DATA_CONTACT"])


@bp.get("/c/<int:community_id>/children")
def index(community_id: int):
    community = _community(community_id)
    _own(community)
    answer = ops.latest_answer(current_user, community)
    children = ops.children_of(current_user, community)
    return render("children/index.html", community=community, answer=answer,
                  state=ops.consent_state(answer), children=children,
                  version=ops.notice_version())


@bp.route("/c/<int:community_id>/children/consent", methods=["GET", "POST"])
def consent(community_id: int):
    community = _community(community_id)
    _guardian(community)
    form = ConsentForm()
    if form.validate_on_submit():
        agreed = form.answer.data == "agree"
        ops.answer_notice(current_user, community, agreed)
        flash(_("Thank you: your consent is recorded. You can now add your child.") if agreed
              else _("Your refusal is recorded. Nothing about a child is kept, and everything "
                     "else in Linli works as before."), "success" if agreed else "info")
        return see_other(url_for("children.new", community_id=community.id) if agreed
                         else _index(community))
    return render("children/consent.html", community=community, form=form,
                  version=ops.notice_version(), state=ops.consent_state(
                      ops.latest_answer(current_user, community)),
                  contact=current_app.config["CHILDREN_DATA_CONTACT"],
                  status=form_status(form))


@bp.route("/c/<int:community_id>/children/new", methods=["GET", "POST"])
def new(community_id: int):
    community = _community(community_id)
    _guardian(community)
    try:
        ops.require_consent(current_user, community)
    except OperationError as error:
        flash(str(error), "info")
        return see_other(url_for("children.consent", community_id=community.id))
    form = ChildForm()
    if form.validate_on_submit():
        try:
            child = ops.add_child(current_user, community, form.nickname.data,
                                  form.age_band.data)
        except OperationError as error:
            db.session.rollback()
            form.nickname.errors = [*form.nickname.errors, str(error)]
        else:
            flash(_("%(name)s is added.", name=child.nickname), "success")
            return see_other(_index(community))
    return render("children/child_form.html", community=community, form=form,
                  status=form_status(form))


def _my_child(community: Community, child_id: int) -> ChildProfile:
    child = db.session.scalar(select(ChildProfile).where(
        ChildProfile.id == child_id, ChildProfile.community_id == community.id,
        ChildProfile.guardian_id == current_user.id))
    if child is None:
        abort(404)
    return child


@bp.route("/c/<int:community_id>/children/<int:child_id>/delete", methods=["GET", "POST"])
def delete(community_id: int, child_id: int):
    community = _community(community_id)
    _own(community)
    child = _my_child(community, child_id)
    form = EmptyForm()
    if form.validate_on_submit():
        name = child.nickname
        ops.remove_child(current_user, child)
        flash(_("%(name)s and everything kept about them are deleted.", name=name), "success")
        return see_other(_index(community))
    return render("children/delete.html", community=community, child=child, form=form,
                  held=ops.held_data([child.id]))


@bp.route("/c/<int:community_id>/children/withdraw", methods=["GET", "POST"])
def withdraw(community_id: int):
    community = _community(community_id)
    _own(community)
    children = ops.children_of(current_user, community)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            ops.withdraw(current_user, community)
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "info")
        else:
            flash(_("Your consent is withdrawn; your children's profiles and everything kept "
                    "about them are deleted."), "success")
        return see_other(_index(community))
    return render("children/withdraw.html", community=community, children=children, form=form,
                  held=ops.held_data([c.id for c in children]))
