"""Pages of children's design calls: the calls and their gallery, submitting a design, the
planners' and moderators' review, workshops and their tallies, stickers, promotion."""
from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice

from participation.children import operations as children
from participation.children.models import NICKNAME_MAX
from participation.communities.models import Community
from participation.consultations import closed_because
from participation.consultations.models import Consultation
from participation.errors import OperationError
from participation.extensions import db
from participation.forms import EmptyForm
from participation.pagecache import public_page
from participation.plan.models import Site, SitePlan
from participation.policy import can, membership_of, require
from participation.uploads import ImageRejected, send_image
from participation.web import (
    RowPage,
    form_status,
    page_number,
    paginate,
    parse_id,
    render,
    see_other,
)
from proposals.views import proposal_url, site_choices

from . import operations as ops
from .forms import CallForm, DesignForm, WorkshopForm
from .models import TITLE_MAX, Design, DesignCall, Workshop

bp = Blueprint("designs", __name__)
GALLERY_PAGE = 24  # large pictures: a phone scrolls through this many


def _community(community_id: int) -> Community:
    return db.get_or_404(Community, community_id)


def _call(community: Community, call_id: int) -> DesignCall:
    call = db.session.execute(select(DesignCall).where(DesignCall.id == call_id).options(
        joinedload(DesignCall.consultation).joinedload(Consultation.phases),
        joinedload(DesignCall.site).joinedload(Site.photos))).unique().scalar_one_or_none()
    if call is None or call.community_id != community.id:
        abort(404)
    return call


def _design(community: Community, design_id: int, seen: bool = True) -> Design:
    """The design, if the user may see it (`seen`; else the caller checks after the policy)."""
    design = db.session.scalar(select(Design).where(Design.id == design_id).options(
        joinedload(Design.call).joinedload(DesignCall.consultation)
        .joinedload(Consultation.phases), joinedload(Design.child)))
    if design is None or design.call.community_id != community.id \
            or (seen and not can("design.see", community, design)):
        abort(404)  # what may not be seen is not there
    return design


def call_url(call: DesignCall, **anchor) -> str:
    return url_for("designs.call", community_id=call.community_id, call_id=call.id, **anchor)


@bp.get("/c/<int:community_id>/designs")
@public_page
def calls(community_id: int):
    community = _community(community_id)
    require("designs.view", community)
    shown = (select(func.count()).where(Design.call_id == DesignCall.id,
                                        Design.status == "approved")
             .correlate(DesignCall).scalar_subquery())
    rows = db.session.execute(
        select(DesignCall, shown).where(DesignCall.community_id == community.id)
        .options(joinedload(DesignCall.consultation).joinedload(Consultation.phases))
        .order_by(DesignCall.id.desc())).unique().all()
    return render("designs/calls.html", community=community, rows=rows)


def _call_form(community: Community, consultation: Consultation, call: DesignCall | None):
    form = CallForm(obj=call)
    form.site_id.choices = site_choices(community)
    if call is not None and request.method == "GET":
        form.site_id.data, form.age_bands.data = str(call.site_id or ""), call.bands
    if form.validate_on_submit():
        try:
            saved = ops.save_call(current_user, consultation, call, title=form.title.data,
                                  prompt=form.prompt.data, site_id=parse_id(form.site_id.data),
                                  bands=form.age_bands.data)
        except OperationError as error:
            db.session.rollback()
            form.site_id.errors = [*form.site_id.errors, str(error)]
        else:
            flash(_("The design call is saved."), "success")
            return see_other(call_url(saved))
    return render("designs/call_form.html", community=community, consultation=consultation,
                  form=form, call=call, status=form_status(form))


@bp.route("/c/<int:community_id>/consultations/<int:consultation_id>/design-calls/new",
          methods=["GET", "POST"])
def new_call(community_id: int, consultation_id: int):
    community = _community(community_id)
    require("design.manage", community)
    consultation = db.get_or_404(Consultation, consultation_id)
    if consultation.community_id != community.id or consultation.template != ops.KIND:
        abort(404)
    return _call_form(community, consultation, None)


@bp.route("/c/<int:community_id>/design-calls/<int:call_id>/edit", methods=["GET", "POST"])
def edit_call(community_id: int, call_id: int):
    community = _community(community_id)
    require("design.manage", community)
    call = _call(community, call_id)
    return _call_form(community, call.consultation, call)


@bp.get("/c/<int:community_id>/design-calls/<int:call_id>")
@public_page
def call(community_id: int, call_id: int):
    community = _community(community_id)
    require("designs.view", community)
    call = _call(community, call_id)
    results = ops.results(call)  # every approved design: the gallery's length too
    page = page_number()
    designs = RowPage(list(db.session.scalars(ops.gallery_query(call).limit(GALLERY_PAGE)
                                              .offset((page - 1) * GALLERY_PAGE))),
                      page, GALLERY_PAGE, len(results))
    may_sticker = can("design.sticker", community, call)
    kids, mine, placed, voter = ops.guardian_view(call, current_user, may_sticker,
                                                  parse_id(request.args.get("child")))
    site_plan = db.session.get(SitePlan, community.id) if call.site and \
        call.site.x is not None else None
    return render("designs/call.html", community=community, call=call, designs=designs,
                  site_plan=site_plan,
                  results=results, kids=kids, mine=mine, placed=placed,
                  voter=voter, stickers=ops.stickers_per_child(),
                  may_submit=can("design.submit", community, call),
                  may_sticker=may_sticker,
                  submit_closed=closed_because(call.consultation, "design.submit"),
                  sticker_closed=closed_because(call.consultation, "design.sticker"),
                  workshops=_workshops(call) if can("design.workshop", community) else [],
                  pending=_pending_count(call) if can("design.moderate", community) else 0,
                  form=EmptyForm())


def _workshops(call: DesignCall) -> list[Workshop]:
    return list(db.session.scalars(select(Workshop).where(Workshop.call_id == call.id)
                                   .options(joinedload(Workshop.paper_consent))
                                   .order_by(Workshop.held_on)))


def _pending_count(call: DesignCall) -> int:
    return db.session.scalar(select(func.count()).select_from(Design).where(
        Design.call_id == call.id, Design.status == "pending"))


@bp.route("/c/<int:community_id>/design-calls/<int:call_id>/submit", methods=["GET", "POST"])
def submit(community_id: int, call_id: int):
    community = _community(community_id)
    call = _call(community, call_id)
    require("design.submit", community, call, why=lambda: membership_of(
        current_user, community) and closed_because(call.consultation, "design.submit"))
    try:
        children.require_consent(current_user, community)
    except OperationError as error:
        flash(str(error), "info")
        return see_other(url_for("children.consent", community_id=community.id))
    kids = [k for k in children.children_of(current_user, community)
            if k.age_band in call.bands]
    if not kids:
        flash(_("Add your child first (this call invites children of %(bands)s years).",
                bands=_(", ").join(call.bands)), "info")
        return see_other(url_for("children.new", community_id=community.id))
    form = DesignForm()
    form.child_id.choices = [SelectChoice(str(k.id), _("%(name)s (%(band)s years)",
                                                        name=k.nickname, band=k.age_band))
                             for k in kids]
    if len(kids) == 1 and not form.child_id.data:
        form.child_id.data = str(kids[0].id)
    if form.validate_on_submit():
        try:
            ops.submit_design(current_user, call, parse_id(form.child_id.data),
                              form.title.data, form.want.data or "", form.drawing.data.stream)
        except (OperationError, ImageRejected) as error:
            db.session.rollback()
            form.drawing.errors = [*form.drawing.errors, str(error)]
        else:
            flash(_("Thank you! The design is sent. A planner looks at it before it is shown "
                    "in the gallery."), "success")
            return see_other(call_url(call, _anchor="mine"))
    return render("designs/submit.html", community=community, call=call, form=form,
                  status=form_status(form))


@bp.get("/c/<int:community_id>/design-calls/<int:call_id>/review")
def review(community_id: int, call_id: int):
    community = _community(community_id)
    require("design.moderate", community)
    call = _call(community, call_id)
    state = request.args.get("state", "pending")
    state = state if state in ("pending", "approved", "rejected") else "pending"
    designs = paginate(select(Design).where(Design.call_id == call.id, Design.status == state)
                       .options(joinedload(Design.child)).order_by(Design.id),
                       per_page=GALLERY_PAGE)
    return render("designs/review.html", community=community, call=call, designs=designs,
                  state=state, form=EmptyForm(), may_promote=can("design.manage", community))


@bp.post("/c/<int:community_id>/designs/<int:design_id>/moderate")
def moderate(community_id: int, design_id: int):
    community = _community(community_id)
    require("design.moderate", community)
    design = _design(community, design_id)
    require("design.review", community, design, why=lambda: _(
        "You are this child's guardian: another planner or moderator reviews the design."))
    form = EmptyForm()
    back = url_for("designs.review", community_id=community.id, call_id=design.call_id)
    if form.validate_on_submit():
        try:
            ops.moderate(current_user, design, request.form.get("status", ""))
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            flash(_("“%(title)s” is in the gallery.", title=design.title)
                  if design.status == "approved" else
                  _("“%(title)s” is turned down: it stays out of the gallery.",
                    title=design.title), "success")
    return see_other(back)


@bp.get("/c/<int:community_id>/designs/<int:design_id>/<any(full, thumb):size>")
def image(community_id: int, design_id: int, size: str):
    community = _community(community_id)
    require("designs.view", community)
    design = _design(community, design_id)
    # Children's drawings: a withdrawal removes them from browsers' caches too.
    return send_image(ops.FOLDER, design.thumbnail if size == "thumb" else design.filename,
                      revalidate=True)


def _sticker(community_id: int, design_id: int, place: bool):
    community = _community(community_id)
    design = _design(community, design_id, seen=False)
    require("design.sticker", community, design.call, why=lambda: membership_of(
        current_user, community) and closed_because(design.call.consultation,
                                                    "design.sticker"))
    if not can("design.see", community, design):
        abort(404)
    form = EmptyForm()
    child_id = parse_id(request.form.get("child_id"))
    if form.validate_on_submit():
        try:
            if place:
                left = ops.place_sticker(current_user, design, child_id)
                flash(_("Sticker placed on “%(title)s”. Stickers left: %(n)d.",
                        title=design.title, n=left), "success")
            elif ops.take_back(current_user, design, child_id):
                flash(_("Sticker taken back from “%(title)s”.", title=design.title), "success")
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
    page = parse_id(request.form.get("page"))
    return see_other(call_url(design.call, child=child_id, page=page if page != 1 else None,
                              _anchor=f"design-{design.id}"))


@bp.post("/c/<int:community_id>/designs/<int:design_id>/sticker")
def sticker(community_id: int, design_id: int):
    return _sticker(community_id, design_id, True)


@bp.post("/c/<int:community_id>/designs/<int:design_id>/take-back")
def take_back(community_id: int, design_id: int):
    return _sticker(community_id, design_id, False)


@bp.route("/c/<int:community_id>/design-calls/<int:call_id>/workshops/new",
          methods=["GET", "POST"])
def new_workshop(community_id: int, call_id: int):
    community = _community(community_id)
    require("design.workshop", community)
    call = _call(community, call_id)
    form = WorkshopForm()
    if form.validate_on_submit():
        rows = [ops.WorkshopDrawing(r.nickname.data or "", r.age_band.data or "",
                                    r.title.data or "", r.want.data or "",
                                    r.drawing.data.stream if r.drawing.data else None)
                for r in form.drawings]
        # A row is one child's drawing: rows left empty are not sent.
        used = [(entry, row) for entry, row in zip(form.drawings, rows)
                if row.nickname.strip() or row.title.strip() or row.drawing]
        missing = False
        for entry, row in used:
            for name, there, message in (
                    ("nickname", row.nickname.strip(), _("Give the child a nickname of at "
                                                         "most %(n)d characters.", n=NICKNAME_MAX)),
                    ("age_band", row.age_band, _("Choose the child's age.")),
                    ("title", row.title.strip(), _("Give the design a title of at most "
                                                   "%(n)d characters.", n=TITLE_MAX)),
                    ("drawing", row.drawing, _("Add a photo of the drawing."))):
                if not there:
                    entry[name].errors = [*entry[name].errors, message]
                    missing = True
        if not missing:
            try:
                ops.add_workshop(current_user, call, place=form.place.data,
                                 held_on=form.held_on.data, collected_by=form.collected_by.data,
                                 collected_on=form.collected_on.data,
                                 consents=form.consents.data, drawings=[r for _e, r in used])
            except ops.DrawingRefused as error:
                db.session.rollback()
                field = used[error.row][0][error.field]
                field.errors = [*field.errors, str(error)]
            except OperationError as error:
                db.session.rollback()
                form.consents.errors = [*form.consents.errors, str(error)]
            else:
                flash(_("The workshop's drawings are in the gallery."), "success")
                return see_other(call_url(call, _anchor="workshops"))
    # Refused (a success has gone on): say so above the form, whichever field it is.
    refused = request.method == "POST"
    return render("designs/workshop.html", community=community, call=call, form=form,
                  refused=refused, status=422 if refused else 200)


@bp.route("/c/<int:community_id>/workshops/<int:workshop_id>/tally", methods=["GET", "POST"])
def tally(community_id: int, workshop_id: int):
    from .models import WorkshopTally

    community = _community(community_id)
    require("design.workshop", community)
    workshop = db.session.scalar(select(Workshop).where(Workshop.id == workshop_id)
                                 .options(joinedload(Workshop.paper_consent)))
    if workshop is None:
        abort(404)
    call = _call(community, workshop.call_id)
    designs = ops.gallery(call)
    counts = {(t.design_id, t.age_band): t.stickers for t in db.session.scalars(
        select(WorkshopTally).where(WorkshopTally.workshop_id == workshop.id))}
    form, error, invalid = EmptyForm(), None, set()
    if request.method == "POST" and form.validate_on_submit():
        typed = {}
        for d in designs:
            for band in call.bands:
                raw = request.form.get(f"t-{d.id}-{band}", "").strip()
                counts[(d.id, band)] = raw  # shown back as typed
                if raw.isascii() and raw.isdigit() and len(raw) < 6:
                    typed[(d.id, band)] = int(raw)
                elif raw:
                    invalid.add((d.id, band))
                else:
                    typed[(d.id, band)] = 0
        try:
            if invalid:
                raise OperationError(_("Enter each count as a whole number of stickers, such "
                                       "as 0 or 3."))
            ops.save_tally(current_user, workshop, typed)
        except OperationError as err:
            db.session.rollback()
            error = str(err)
        else:
            flash(_("The workshop's stickers are counted in the children's results."),
                  "success")
            return see_other(call_url(call, _anchor="results"))
    return render("designs/tally.html", community=community, call=call, workshop=workshop,
                  designs=designs, counts=counts, form=form, error=error, invalid=invalid,
                  limit=ops.stickers_per_child() * workshop.paper_consent.count,
                  status=422 if error else 200)


@bp.post("/c/<int:community_id>/designs/<int:design_id>/promote")
def promote(community_id: int, design_id: int):
    community = _community(community_id)
    require("design.manage", community)
    design = _design(community, design_id, seen=False)  # only an approved one is promoted
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            proposal = ops.promote(current_user, design,
                                   call_url(design.call, _anchor=f"design-{design.id}"))
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            flash(_("The design is now a proposal, credited to the community's children."),
                  "success")
            return see_other(proposal_url(proposal))
    return see_other(call_url(design.call, _anchor=f"design-{design.id}"))


@bp.route("/c/<int:community_id>/designs/<int:design_id>/delete", methods=["GET", "POST"])
def delete_design(community_id: int, design_id: int):
    """The guardian deletes their child's drawing; the planner deletes a workshop child's
    drawing and profile when the child's guardian asks on paper or in person."""
    community = _community(community_id)
    if request.method == "POST" and current_user.is_authenticated \
            and db.session.get(Design, design_id) is None:
        flash(_("This drawing is already deleted."), "info")  # a second click
        return see_other(url_for("designs.calls", community_id=community.id))
    design = _design(community, design_id, seen=False)
    require("design.remove", community, design)
    own = design.child.guardian_id is not None and design.child.guardian_id == current_user.id
    if not own and design.workshop_id is None:
        abort(404)  # a guardian's drawing: the guardian deletes it
    child, call = design.child, design.call
    form = EmptyForm()
    if form.validate_on_submit():
        if own:
            ops.remove_design(current_user, design)
            flash(_("“%(title)s” is deleted, with its stickers.", title=design.title), "success")
            return see_other(call_url(call, _anchor="mine"))
        children.erase_workshop_child(current_user, child)
        flash(_("%(name)s's drawing, stickers and profile are deleted.", name=child.nickname),
              "success")
        return see_other(call_url(call, _anchor="workshops"))
    return render("designs/delete.html", community=community, design=design, child=child,
                  own=own, form=form, held=[] if own else children.held_data([child.id]))


def consultation_calls(consultation) -> list[DesignCall]:
    return db.session.scalars(select(DesignCall).where(
        DesignCall.consultation_id == consultation.id).order_by(DesignCall.id)).all()


# Functions every template may call: globals, not a context processor run at every render.
bp.add_app_template_global(consultation_calls, "consultation_design_calls")
bp.add_app_template_global(call_url, "design_call_url")


# Translated when shown: every page's templates are handed the function, few call it.
DESIGN_STATUS_LABELS = {"pending": _l("waiting for review"), "approved": _l("in the gallery"),
                        "rejected": _l("turned down")}


@bp.app_template_global()
def design_status_label(status: str) -> str | None:
    label = DESIGN_STATUS_LABELS.get(status)
    return None if label is None else str(label)
