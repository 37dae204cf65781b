"""Pages of the plan: the community's checkup against the complete-community checklist, and the
inventory of its sites pinned on its site plan."""
from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from participation import clock
from participation.communities.models import Community
from participation.errors import OperationError
from participation.extensions import db
from participation.forms import EmptyForm
from participation.i18n import select_locale, to_shown
from participation.policy import require
from participation.registries import site_references
from participation.standards import checklist, item_names
from participation.uploads import (
    ImageRejected,
    image_path,
    is_uploaded,
    save_image,
    save_images,
    send_image,
)
from participation.web import form_status, parse_ids, render, see_other

from . import operations as ops
from .forms import SITE_KIND_LABELS, STATE_LABELS, FindingForm, SiteForm, SitePlanForm
from .models import Checkup, CheckupEntry, Site, SitePlan

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


# --- the inventory of sites -----------------------------------------------------------------


def _site(community: Community, site_id: int) -> Site:
    site = db.session.get(Site, site_id)
    if site is None or site.community_id != community.id:
        abort(404)
    return site


@bp.get("/c/<int:community_id>/sites")
def sites(community_id: int):
    community = _community(community_id)
    require("sites.view", community)
    found = db.session.scalars(select(Site).where(Site.community_id == community.id)
                               .order_by(Site.kind, Site.name)).all()
    return render("plan/sites.html", community=community, sites=found,
                  site_plan=db.session.get(SitePlan, community.id), kinds=SITE_KIND_LABELS,
                  plan_form=SitePlanForm(formdata=None))


@bp.post("/c/<int:community_id>/sites/plan")
def site_plan(community_id: int):
    community = _community(community_id)
    require("sites.manage", community)
    form = SitePlanForm()
    if form.validate_on_submit() and is_uploaded(form.image.data):
        try:
            name = save_image(form.image.data.stream, "sites")
            with Image.open(image_path("sites", name)) as stored:
                width, height = stored.size
            ops.save_site_plan(current_user, community, name, width, height)
        except ImageRejected as error:
            flash(str(error), "error")
        else:
            flash(_("The site plan is saved. Place each site's pin on it."), "success")
    else:
        flash(" ".join(form.image.errors) or _("Choose the picture of the site plan."), "error")
    return see_other(url_for("plan.sites", community_id=community.id))


@bp.route("/c/<int:community_id>/sites/new", methods=["GET", "POST"], defaults={"site_id": None})
@bp.route("/c/<int:community_id>/sites/<int:site_id>/edit", methods=["GET", "POST"])
def edit_site(community_id: int, site_id: int | None):
    community = _community(community_id)
    require("sites.manage", community)
    site = _site(community, site_id) if site_id else None
    form = SiteForm(obj=site)
    if form.validate_on_submit():
        try:
            photos = save_images(form.photos.data or [], "sites")
            saved = ops.save_site(
                current_user, community, site, kind=form.kind.data, name=form.name.data,
                area_m2=form.area_m2.data, owner=form.owner.data or "",
                state=form.state.data or "", notes=form.notes.data or "", x=form.x.data,
                y=form.y.data, photos=photos,
                remove_photos=parse_ids(request.form.getlist("remove_photo")))
        except (OperationError, ImageRejected) as error:
            db.session.rollback()
            form.x.errors = [*form.x.errors, str(error)]
        else:
            flash(_("The site “%(name)s” is saved.", name=saved.name), "success")
            return see_other(url_for("plan.site", community_id=community.id, site_id=saved.id))
    return render("plan/site_form.html", community=community, site=site, form=form,
                  site_plan=db.session.get(SitePlan, community.id), status=form_status(form))


@bp.get("/c/<int:community_id>/sites/<int:site_id>")
def site(community_id: int, site_id: int):
    community = _community(community_id)
    require("sites.view", community)
    found = _site(community, site_id)
    references = [(reference.label, reference.load(found))
                  for reference in site_references.values()]
    return render("plan/site.html", community=community, site=found, kinds=SITE_KIND_LABELS,
                  site_plan=db.session.get(SitePlan, community.id), references=references)


@bp.get("/c/<int:community_id>/sites/plan/image")
def site_plan_image(community_id: int):
    community = _community(community_id)
    require("sites.view", community)
    plan = db.session.get(SitePlan, community.id)
    if plan is None:
        abort(404)
    return send_image("sites", plan.image)


@bp.get("/c/<int:community_id>/sites/<int:site_id>/photos/<int:photo_id>")
def site_photo(community_id: int, site_id: int, photo_id: int):
    community = _community(community_id)
    require("sites.view", community)
    found = next((p for p in _site(community, site_id).photos if p.id == photo_id), None)
    if found is None:
        abort(404)
    return send_image("sites", found.filename)
