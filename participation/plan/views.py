"""Pages of the plan: the community's checkup against the complete-community checklist."""
from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from participation import clock
from participation.communities.models import Community
from participation.errors import OperationError
from participation.extensions import db
from participation.forms import EmptyForm
from participation.i18n import select_locale, to_shown
from participation.policy import require
from participation.standards import checklist, item_names
from participation.uploads import ImageRejected, is_uploaded, save_image, send_image
from participation.web import form_status, render, see_other

from . import operations as ops
from .forms import STATE_LABELS, FindingForm
from .models import Checkup, CheckupEntry

bp = Blueprint("plan", __name__)

# Values without a measure (a facility there or not, a list of shops) take no number.
UNITLESS = {"boolean", "checklist"}


def unit_label(kind: str) -> str:
    return {"area_m2": _("m²"), "area_m2_per_100_households": _("m² per 100 households"),
            "count": _("number"), "ratio_per_household": _("per household"),
            "walk_minutes": _("minutes on foot"),
            "share_of_compounds": _("share of compounds, 0 to 1")}.get(kind, "")


def _community(community_id: int) -> Community:
    return db.get_or_404(Community, community_id)


def _entries(checkup: Checkup | None) -> dict[str, CheckupEntry]:
    if checkup is None:
        return {}
    return {e.item_id: e for e in db.session.scalars(
        select(CheckupEntry).where(CheckupEntry.checkup_id == checkup.id)
        .options(joinedload(CheckupEntry.checked_by)))}


@bp.get("/c/<int:community_id>/checkup")
def checkup(community_id: int):
    community = _community(community_id)
    require("checkup.view", community)
    current = ops.current_checkup(community)
    entries = _entries(current)
    by_category, score = ops.figures(entries)
    return render("plan/checkup.html", community=community, checkup=current,
                  categories=checklist()[0], by_category=by_category, score=score,
                  weights=ops.WEIGHTS, history=ops.history(community)[1:],
                  total=len(checklist()[1]), locale=select_locale(), unit_label=unit_label,
                  unitless=UNITLESS, meets=ops.meets, state_labels=STATE_LABELS,
                  start=EmptyForm())


@bp.post("/c/<int:community_id>/checkup/start")
def start(community_id: int):
    community = _community(community_id)
    require("checkup.edit", community)
    if EmptyForm().validate_on_submit():
        ops.start_checkup(current_user, community)
        flash(_("A new checkup is started. Earlier ones stay in the history."), "success")
    return see_other(url_for("plan.checkup", community_id=community.id))


@bp.route("/c/<int:community_id>/checkup/items/<item>", methods=["GET", "POST"])
def finding(community_id: int, item: str):
    community = _community(community_id)
    require("checkup.edit", community)
    item = item_names().get(item)
    if item is None:
        abort(404)
    current = ops.current_checkup(community)
    entry = _entries(current).get(item.id)
    form = FindingForm(obj=entry)
    if item.measure:
        form.value.label.text = _("Measured value, %(unit)s", unit=unit_label(item.measure.kind))
    if request.method == "GET" and entry is None:
        form.checked_on.data = to_shown(clock.now()).date()
    if form.validate_on_submit():
        try:
            photo = save_image(form.photo.data.stream, "checkup") \
                if is_uploaded(form.photo.data) else None
            if current is None:
                current = ops.start_checkup(current_user, community)
            ops.record_finding(current_user, current, item, state=form.state.data,
                               value=form.value.data, note=form.note.data or "",
                               checked_on=form.checked_on.data, photo=photo,
                               remove_photo=form.remove_photo.data)
        except (OperationError, ImageRejected) as error:
            db.session.rollback()
            form.photo.errors = [*form.photo.errors, str(error)]
        else:
            flash(_("The finding for “%(item)s” is saved.", item=item.name(select_locale())),
                  "success")
            return see_other(url_for("plan.checkup", community_id=community.id,
                                     _anchor=f"item-{item.id}"))
    return render("plan/finding.html", community=community, item=item, entry=entry,
                  form=form, locale=select_locale(), unit_label=unit_label, unitless=UNITLESS,
                  status=form_status(form))


@bp.get("/c/<int:community_id>/checkup/photos/<int:entry_id>")
def photo(community_id: int, entry_id: int):
    community = _community(community_id)
    require("checkup.view", community)
    entry = db.session.get(CheckupEntry, entry_id)
    if entry is None or entry.photo is None or entry.checkup.community_id != community.id:
        abort(404)
    return send_image("checkup", entry.photo)
