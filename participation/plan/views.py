"""Pages of the plan: the community's checkup against the complete-community checklist, the
inventory of its sites pinned on its site plan, and its plans: the project list, the builder
that turns sources into projects, the priority weights and the residents' review."""
from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from PIL import Image
from sqlalchemy import case, func, select
from wtforms import SelectChoice
from sqlalchemy.orm import joinedload

from participation import clock
from participation.communities.models import Community
from participation.consultations.models import Consultation
from participation.errors import OperationError
from participation.extensions import db
from participation.forms import EmptyForm
from participation.i18n import select_locale, today_shown
from participation.policy import can, membership_of, require
from participation.registries import plan_sources, site_references
from participation.standards import checklist, item_names
from participation.uploads import (
    ImageRejected,
    image_path,
    is_uploaded,
    save_image,
    save_images,
    send_image,
)
from participation.web import (
    RowPage,
    external_url,
    form_status,
    paginate,
    page_number,
    paginate_keys,
    parse_id,
    parse_ids,
    public_address_is_local,
    render,
    see_other,
)

from . import operations as ops
from .forms import (
    FIELD_LABELS,
    OUTCOME_LABELS,
    PLAN_STATE_LABELS,
    SITE_KIND_LABELS,
    STANCE_LABELS,
    STATE_LABELS,
    STATUS_LABELS,
    AnswerForm,
    DecisionForm,
    FindingForm,
    ObjectionForm,
    PlanForm,
    ProgressForm,
    ProjectForm,
    ResponseForm,
    SiteForm,
    SitePlanForm,
    weights_form,
)
from .models import (
    Checkup,
    CheckupEntry,
    Objection,
    Plan,
    PlanDecision,
    PlanVersion,
    Project,
    ProjectResponse,
    ProjectSource,
    ProjectUpdate,
    ProjectUpdatePhoto,
    Site,
    SitePlan,
)

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
    planned = set(db.session.scalars(
        select(ProjectSource.ref).join(Plan, Plan.id == ProjectSource.plan_id)
        .where(Plan.community_id == community.id, ProjectSource.kind == "gap")))
    return render("plan/checkup.html", community=community, checkup=current, planned=planned,
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
        form.checked_on.data = today_shown()
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


# --- plans and their projects -----------------------------------------------------------------

SORTS = ("score", "category", "site", "cost")


def _plan(community: Community, plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None or plan.community_id != community.id:
        abort(404)
    return plan


def _project(plan: Plan, project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None or project.plan_id != plan.id:
        abort(404)
    return project


def _project_url(project: Project, **values) -> str:
    plan = db.session.get(Plan, project.plan_id)
    return url_for("plan.project", community_id=plan.community_id, plan_id=plan.id,
                   project_id=project.id, **values)


def formula(plan: Plan) -> list[tuple[str, str, object]]:
    """The priority formula's terms: (source, what its signal counts, weight)."""
    weights = ops.weights_of(plan)
    return [(str(s.label), str(s.signal), weights[key]) for key, s in plan_sources.items()]


def _category_names() -> dict[str, str]:
    return {c.id: c.name(select_locale()) for c in checklist()[0]}


@bp.get("/c/<int:community_id>/plans")
def plans(community_id: int):
    community = _community(community_id)
    require("plan.view", community)
    form = PlanForm(formdata=None)
    form.title.data = _("%(year)d community renewal plan", year=clock.now().year + 1)
    return _plans_page(community, form)


def _plans_page(community: Community, form: PlanForm, status: int = 200):
    rows = db.session.execute(
        select(Plan, func.count(Project.id)).outerjoin(Project, Project.plan_id == Plan.id)
        .where(Plan.community_id == community.id).group_by(Plan.id)
        .order_by(Plan.created_at.desc(), Plan.id.desc())).all()
    return render("plan/plans.html", community=community, plans=rows, form=form,
                  status=status)


@bp.post("/c/<int:community_id>/plans")
def new_plan(community_id: int):
    community = _community(community_id)
    require("plan.manage", community)
    form = PlanForm()
    if form.validate_on_submit():
        plan = ops.create_plan(current_user, community, form.title.data)
        flash(_("The plan is opened. Build its projects from the sources below."), "success")
        return see_other(url_for("plan.builder", community_id=community.id, plan_id=plan.id))
    return _plans_page(community, form, form_status(form))


def _project_rows(ids: list[int]) -> dict:
    projects = {p.id: p for p in db.session.scalars(
        select(Project).where(Project.id.in_(ids)).options(joinedload(Project.site)))}
    counts = dict(db.session.execute(
        select(ProjectSource.project_id, func.count(ProjectSource.id))
        .where(ProjectSource.project_id.in_(ids)).group_by(ProjectSource.project_id)).all())
    return {i: (projects[i], counts.get(i, 0)) for i in projects}


@bp.get("/c/<int:community_id>/plans/<int:plan_id>")
def plan(community_id: int, plan_id: int):
    community = _community(community_id)
    require("plan.view", community)
    found = _plan(community, plan_id)
    sort = request.args.get("sort", "score")
    sort = sort if sort in SORTS else "score"
    keys = select(Project.id).where(Project.plan_id == found.id)
    # Projects without a category, site or cost come last, whatever the collation.
    if sort == "category":
        order = [(case((Project.category.is_(None), 1), else_=0), False),
                 (Project.category, False), (Project.score, True), (Project.id, False)]
    elif sort == "site":
        keys = keys.outerjoin(Site, Site.id == Project.site_id)
        order = [(case((Site.name.is_(None), 1), else_=0), False), (Site.name, False),
                 (Project.score, True), (Project.id, False)]
    elif sort == "cost":
        order = [(case((Project.cost.is_(None), 1), else_=0), False), (Project.cost, True),
                 (Project.id, False)]
    else:
        order = [(Project.score, True), (Project.id, False)]
    page = paginate_keys(keys, order, _project_rows)
    consultation = db.session.get(Consultation, found.consultation_id) \
        if found.consultation_id else None
    mine = {}
    if consultation is not None and current_user.is_authenticated and page.items:
        mine = dict(db.session.execute(
            select(ProjectResponse.project_id, ProjectResponse.stance).where(
                ProjectResponse.user_id == current_user.id,
                ProjectResponse.project_id.in_([p.id for p, _n in page.items]))).all())
    return render("plan/plan.html", community=community, plan=found, page=page, sort=sort,
                  sorts={"score": _("priority score"), "category": _("category"),
                         "site": _("site"), "cost": _("cost")},
                  formula=formula(found), categories=_category_names(),
                  consultation=consultation, now=clock.now(), mine=mine,
                  stances=STANCE_LABELS, latest=ops.latest_version(found),
                  notice=ops.notice_state(found, clock.now()))


def _builder_rows(plan: Plan, candidates: dict[str, list]) -> dict[str, list]:
    """Each candidate of each source with the projects of the plan already built from it."""
    used = ops.planned_refs(plan, {item.ref for items in candidates.values()
                                   for item in items})
    return {kind: [(item, used.get((kind, item.ref), [])) for item in items]
            for kind, items in candidates.items()}


@bp.get("/c/<int:community_id>/plans/<int:plan_id>/builder")
def builder(community_id: int, plan_id: int):
    community = _community(community_id)
    require("plan.manage", community)
    found = _plan(community, plan_id)
    query = request.args.get("q", "").strip()[:100]
    kind = request.args.get("kind", "")
    offered = {key: source for key, source in plan_sources.items() if source.offered}
    rows = _builder_rows(found, {key: source.candidates(community, query if kind in ("", key)
                                                         else "")
                                 for key, source in offered.items()})
    sources = [(key, source, rows[key]) for key, source in offered.items()]
    return render("plan/builder.html", community=community, plan=found, sources=sources,
                  query=query, kind=kind)


@bp.post("/c/<int:community_id>/plans/<int:plan_id>/from-source")
def from_source(community_id: int, plan_id: int):
    community = _community(community_id)
    require("plan.manage", community)
    found = _plan(community, plan_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        project = ops.project_from_source(current_user, found, request.form.get("kind", ""),
                                          request.form.get("ref", ""))
    except OperationError as error:
        db.session.rollback()
        flash(str(error), "error")
        return see_other(url_for("plan.builder", community_id=community.id, plan_id=found.id,
                                 q=request.form.get("q") or None))
    flash(_("The project “%(title)s” is added to the plan. Complete its cost, funding and "
            "timeline.", title=project.title), "success")
    return see_other(_project_url(project))


@bp.post("/c/<int:community_id>/checkup/items/<item>/project")
def gap_project(community_id: int, item: str):
    """A gap of the checkup becomes a candidate project of the newest plan in one step (a
    plan is opened for next year when there is none)."""
    community = _community(community_id)
    require("plan.manage", community)
    if not EmptyForm().validate_on_submit():
        abort(400)
    found = ops.plan_for_gaps(current_user, community, _("%(year)d community renewal plan",
                                                        year=clock.now().year + 1))
    try:
        project = ops.project_from_source(current_user, found, "gap", item)
    except OperationError as error:
        db.session.rollback()
        flash(str(error), "error")
        return see_other(url_for("plan.checkup", community_id=community.id,
                                 _anchor=f"item-{item}"))
    flash(_("The gap is now a project of “%(plan)s”. Complete its cost, funding and "
            "timeline.", plan=found.title), "success")
    return see_other(_project_url(project))


def _project_form(community: Community, project: Project | None) -> ProjectForm:
    form = ProjectForm(obj=project)
    locale = select_locale()
    categories, items = checklist()
    none = SelectChoice("", _("— none —"))
    form.item_id.choices = [none, *(SelectChoice(i.id, i.name(locale)) for i in items)]
    form.category.choices = [none, *(SelectChoice(c.id, c.name(locale)) for c in categories)]
    form.site_id.choices = [none, *(SelectChoice(str(i), name) for i, name in
                                    db.session.execute(
                                        select(Site.id, Site.name)
                                        .where(Site.community_id == community.id)
                                        .order_by(Site.name)))]
    if request.method == "GET" and project is not None:
        form.site_id.data = str(project.site_id or "")
        form.item_id.data = project.item_id or ""
        form.category.data = project.category or ""
    return form


@bp.route("/c/<int:community_id>/plans/<int:plan_id>/projects/new", methods=["GET", "POST"],
          defaults={"project_id": None})
@bp.route("/c/<int:community_id>/plans/<int:plan_id>/projects/<int:project_id>/edit",
          methods=["GET", "POST"])
def edit_project(community_id: int, plan_id: int, project_id: int | None):
    community = _community(community_id)
    require("plan.manage", community)
    found = _plan(community, plan_id)
    project = _project(found, project_id) if project_id else None
    form = _project_form(community, project)
    if form.validate_on_submit():
        try:
            saved = ops.save_project(
                current_user, found, project, title=form.title.data,
                description=form.description.data or "", category=form.category.data or None,
                item_id=form.item_id.data or None,
                site_id=int(form.site_id.data) if form.site_id.data else None,
                cost=form.cost.data, funding=form.funding.data or "",
                responsible=form.responsible.data or "", timeline=form.timeline.data or "")
        except OperationError as error:
            db.session.rollback()
            form.site_id.errors = [*form.site_id.errors, str(error)]
        else:
            flash(_("The project “%(title)s” is saved.", title=saved.title), "success")
            return see_other(_project_url(saved))
    return render("plan/project_form.html", community=community, plan=found, project=project,
                  form=form, status=form_status(form))


@bp.get("/c/<int:community_id>/plans/<int:plan_id>/projects/<int:project_id>")
def project(community_id: int, plan_id: int, project_id: int):
    community = _community(community_id)
    require("plan.view", community)
    found = _plan(community, plan_id)
    # The project with the committee's decision on it and whether the reader follows it.
    row = db.session.execute(
        select(Project, ops.outcome_column(), ops.follows_column(_reader()))
        .where(Project.id == project_id, Project.plan_id == found.id)
        .options(joinedload(Project.site))).first()
    if row is None:
        abort(404)
    return _project_page(community, found, row[0], ResponseForm(formdata=None),
                         tracking=(row[1], row[2]))


def _reader():
    return current_user._get_current_object() if current_user.is_authenticated else None


UPDATES_PER_PAGE = 10


def _project_page(community: Community, plan: Plan, project: Project, form: ResponseForm,
                  status: int = 200, tracking: tuple | None = None):
    links = db.session.scalars(select(ProjectSource).where(
        ProjectSource.project_id == project.id).order_by(ProjectSource.id)).all()
    consultation = db.session.get(Consultation, plan.consultation_id) \
        if plan.consultation_id else None
    mine, responses = None, None
    if consultation is not None:  # only a draft put to residents has responses
        if current_user.is_authenticated:
            mine = db.session.scalar(select(ProjectResponse).where(
                ProjectResponse.project_id == project.id,
                ProjectResponse.user_id == current_user.id))
        if mine is not None and request.method == "GET":
            form.stance.data, form.comment.data = mine.stance, mine.comment
        responses = paginate(
            select(ProjectResponse).where(ProjectResponse.project_id == project.id)
            .options(joinedload(ProjectResponse.user))
            .order_by(ProjectResponse.updated_at.desc(), ProjectResponse.id.desc()))
    query = request.args.get("q", "").strip()[:100]
    kind = request.args.get("kind", "")
    candidates = None
    if kind in plan_sources and plan_sources[kind].offered \
            and can("plan.manage", community):
        found = plan_sources[kind].candidates(community, query)
        used = ops.planned_refs(plan, {c.ref for c in found})
        candidates = [(c, used.get((kind, c.ref), [])) for c in found]
    # What each source says now, in the reader's language (one read per kind of source):
    # the score stays what it was when the sources were last read, until they are read again.
    now = {}
    for source_kind in {link.kind for link in links}:
        if source_kind in plan_sources:
            refs = [link.ref for link in links if link.kind == source_kind]
            now.update({(source_kind, ref): item for ref, item in
                        plan_sources[source_kind].load(community, refs).items()})
    if tracking is None:
        tracking = db.session.execute(select(ops.outcome_column(),
                                             ops.follows_column(_reader()))
                                      .where(Project.id == project.id)).one()
    outcome, following = tracking
    updates, updates_page, more_updates = [], parse_id(request.args.get("updates")) or 1, False
    if outcome == "adopt":
        # The updates have their own page number (?updates=): the responses use ?page=.
        # One query, photos joined: a page of updates and whether an older one exists.
        updates = db.session.scalars(
            select(ProjectUpdate).where(ProjectUpdate.project_id == project.id)
            .options(joinedload(ProjectUpdate.photos))
            .order_by(ProjectUpdate.on.desc(), ProjectUpdate.id.desc())
            .limit(UPDATES_PER_PAGE + 1).offset((updates_page - 1) * UPDATES_PER_PAGE)
        ).unique().all()
        more_updates = len(updates) > UPDATES_PER_PAGE
        updates = updates[:UPDATES_PER_PAGE]
    from .exports import outcome_label

    return render("plan/project.html", status=status, community=community, plan=plan,
                  outcome=outcome, outcome_label=outcome_label(outcome) if outcome else "", updates=updates, following=following,
                  updates_page=updates_page, more_updates=more_updates,
                  statuses=STATUS_LABELS,
                  project=project, links=links, sources=plan_sources,
                  parts=ops.score_parts(plan, links), formula=formula(plan),
                  categories=_category_names(), items=item_names(), locale=select_locale(),
                  consultation=consultation, mine=mine, form=form, responses=responses,
                  stances=STANCE_LABELS, query=query, kind=kind, candidates=candidates,
                  live=now, now=clock.now(), membership=membership_of(current_user, community))


@bp.route("/c/<int:community_id>/plans/<int:plan_id>/projects/<int:project_id>/delete",
          methods=["GET", "POST"])
def delete_project(community_id: int, plan_id: int, project_id: int):
    community = _community(community_id)
    require("plan.manage", community)
    found = _plan(community, plan_id)
    shown = _project(found, project_id)
    form = EmptyForm()
    if form.validate_on_submit():
        title = shown.title
        ops.delete_project(current_user, shown)
        flash(_("The project “%(title)s” is removed from the plan.", title=title), "success")
        return see_other(url_for("plan.plan", community_id=community.id, plan_id=found.id))
    sources, responses = db.session.execute(
        select(select(func.count(ProjectSource.id))
               .where(ProjectSource.project_id == shown.id).scalar_subquery(),
               select(func.count(ProjectResponse.id))
               .where(ProjectResponse.project_id == shown.id).scalar_subquery())).one()
    return render("plan/project_delete.html", community=community, plan=found,
                  project=shown, form=form, sources=sources, responses=responses)


@bp.post("/c/<int:community_id>/plans/<int:plan_id>/projects/<int:project_id>/sources")
def add_source(community_id: int, plan_id: int, project_id: int):
    community = _community(community_id)
    require("plan.manage", community)
    shown = _project(_plan(community, plan_id), project_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        link = ops.add_source(current_user, shown, request.form.get("kind", ""),
                              request.form.get("ref", ""))
    except OperationError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(_("“%(source)s” is now a source of the project.", source=link.title), "success")
    return see_other(_project_url(shown, _anchor="sources"))


@bp.post("/c/<int:community_id>/plans/<int:plan_id>/projects/<int:project_id>/sources/"
         "<int:source_id>/remove")
def remove_source(community_id: int, plan_id: int, project_id: int, source_id: int):
    community = _community(community_id)
    require("plan.manage", community)
    shown = _project(_plan(community, plan_id), project_id)
    link = db.session.get(ProjectSource, source_id)
    if link is None or link.project_id != shown.id:
        abort(404)
    if EmptyForm().validate_on_submit():
        ops.remove_source(current_user, shown, link)
        flash(_("“%(source)s” is no longer a source of the project.", source=link.title),
              "success")
    return see_other(_project_url(shown, _anchor="sources"))


@bp.route("/c/<int:community_id>/plans/<int:plan_id>/weights", methods=["GET", "POST"])
def weights(community_id: int, plan_id: int):
    community = _community(community_id)
    require("plan.manage", community)
    found = _plan(community, plan_id)
    current = ops.weights_of(found)
    form = weights_form(plan_sources, current)
    if form.validate_on_submit():
        wanted = {key: getattr(form, f"w_{key}").data for key in plan_sources}
        try:
            changed = ops.set_weights(current_user, found, wanted, form.reason.data)
        except OperationError as error:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, str(error)]
        else:
            flash(_("The weights are changed and every score is computed again.") if changed
                  else _("The weights are as they were: nothing changed."),
                  "success" if changed else "info")
            return see_other(url_for("plan.plan", community_id=community.id,
                                     plan_id=found.id))
    fields = [(getattr(form, f"w_{key}"), source) for key, source in plan_sources.items()]
    return render("plan/weights.html", community=community, plan=found, form=form,
                  fields=fields, status=form_status(form))


@bp.post("/c/<int:community_id>/plans/<int:plan_id>/refresh")
def refresh(community_id: int, plan_id: int):
    community = _community(community_id)
    require("plan.manage", community)
    found = _plan(community, plan_id)
    if EmptyForm().validate_on_submit():
        changed = ops.refresh_sources(current_user, found)
        flash(_("The sources are read again: %(n)d changed, and the scores follow.",
                n=changed), "success")
    return see_other(url_for("plan.plan", community_id=community.id, plan_id=found.id))


@bp.post("/c/<int:community_id>/plans/<int:plan_id>/consult")
def consult(community_id: int, plan_id: int):
    community = _community(community_id)
    require("plan.manage", community)
    require("consultation.manage", community)
    found = _plan(community, plan_id)
    if EmptyForm().validate_on_submit():
        try:
            consultation = ops.put_to_residents(
                current_user, found, clock.now(),
                lambda c: url_for("consultations.consultation", community_id=community.id,
                                  consultation_id=c.id))
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            flash(_("The draft is put to residents: they can respond to each project until "
                    "its review phase ends."), "success")
            return see_other(url_for("consultations.consultation", community_id=community.id,
                                     consultation_id=consultation.id))
    return see_other(url_for("plan.plan", community_id=community.id, plan_id=found.id))


@bp.post("/c/<int:community_id>/plans/<int:plan_id>/projects/<int:project_id>/respond")
def respond(community_id: int, plan_id: int, project_id: int):
    community = _community(community_id)
    found = _plan(community, plan_id)
    shown = _project(found, project_id)
    consultation = db.session.get(Consultation, found.consultation_id) \
        if found.consultation_id else None
    require("plan.respond", community, consultation, why=lambda: _(
        "Residents respond to the draft while its review is open."))
    form = ResponseForm()
    if form.validate_on_submit():
        try:
            ops.respond(current_user, shown, form.stance.data, form.comment.data or "")
        except OperationError as error:
            db.session.rollback()
            form.stance.errors = [*form.stance.errors, str(error)]
        else:
            flash(_("Thank you: your response is recorded."), "success")
            return see_other(_project_url(shown, _anchor="responses"))
    return _project_page(community, found, shown, form, status=form_status(form))


def site_projects(site: Site) -> list[tuple[str, str]]:
    """The projects of the community's plans at a site, for the site's page."""
    return [(title, url_for("plan.project", community_id=site.community_id, plan_id=plan_id,
                            project_id=pid))
            for pid, plan_id, title in db.session.execute(
                select(Project.id, Project.plan_id, Project.title)
                .where(Project.site_id == site.id).order_by(Project.id.desc()).limit(100))]


def draft_panel(consultation: Consultation) -> dict:
    plan = db.session.scalar(select(Plan).where(Plan.consultation_id == consultation.id))
    if plan is None:
        return {}
    count = db.session.scalar(select(func.count(Project.id)).where(Project.plan_id == plan.id))
    return {"plan": plan, "projects": count}


# --- the committee's decision, versions, exports, public notice ------------------------------


@bp.route("/c/<int:community_id>/plans/<int:plan_id>/decide", methods=["GET", "POST"])
def decide(community_id: int, plan_id: int):
    """The committee meeting's record and its decision on each project, in one form."""
    community = _community(community_id)
    require("plan.decide", community)
    found = _plan(community, plan_id)
    projects = db.session.scalars(select(Project).where(Project.plan_id == found.id)
                                  .order_by(Project.score.desc(), Project.id)).all()
    form = DecisionForm()
    if request.method == "GET":
        form.held_on.data = today_shown()
        form.committee_size.data = ops.committee_size(community) or None
    error = None
    # What was typed, as typed, to show again if anything is refused.
    typed = {p.id: tuple(request.form.get(f"{name}-{p.id}", "")[:2000] for name in
                         ("outcome", "for", "against", "abstain", "rationale"))
             for p in projects} if request.method == "POST" else {}
    latest = ops.latest_version(found)
    if form.validate_on_submit():
        outcomes = {}
        for project in projects:
            # A vote left empty counts 0; anything but a whole number is refused.
            values = [parse_id(raw.strip()) if raw.strip() else 0
                      for raw in typed[project.id][1:4]]
            if None in values:
                error = error or _("Votes are whole numbers: see “%(title)s”.",
                                   title=project.title)
            elif typed[project.id][0]:
                outcomes[project.id] = (typed[project.id][0], *values, typed[project.id][4])
        if error is None:
            try:
                version = ops.decide(current_user, found, held_on=form.held_on.data,
                                     members_present=form.members_present.data,
                                     present=form.present.data, size=form.committee_size.data,
                                     outcomes=outcomes, now=clock.now(),
                                     based_on=parse_id(request.form.get("based_on")) or 0)
            except OperationError as failed:
                db.session.rollback()
                error = str(failed)
            else:
                flash(_("The decision is recorded: version %(n)d of the list is frozen.",
                        n=version.number), "success")
                return see_other(url_for("plan.version", community_id=community.id,
                                         plan_id=found.id, number=version.number))
    status = 422 if request.method == "POST" else 200
    return render("plan/decide.html", status=status, community=community, plan=found,
                  projects=projects, form=form, error=error, typed=typed,
                  outcomes=OUTCOME_LABELS, based_on=latest.number if latest else 0)


def _version(plan: Plan, number: int) -> PlanVersion:
    found = db.session.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan.id,
                                                         PlanVersion.number == number))
    if found is None:
        abort(404)
    return found


@bp.get("/c/<int:community_id>/plans/<int:plan_id>/versions")
def versions(community_id: int, plan_id: int):
    community = _community(community_id)
    require("plan.view", community)
    found = _plan(community, plan_id)
    listed = db.session.execute(
        select(PlanVersion.number, PlanVersion.created_at, PlanVersion.change,
               PlanVersion.decision_id).where(PlanVersion.plan_id == found.id)
        .order_by(PlanVersion.number.desc())).all()
    compared = None
    older, newer = parse_id(request.args.get("a")), parse_id(request.args.get("b"))
    if older and newer and older != newer:
        low, high = sorted((older, newer))
        compared = (low, high, ops.diff(_version(found, low), _version(found, high)))
    elif listed and len(listed) > 1:
        newer, older = listed[0].number, listed[1].number
    return render("plan/versions.html", community=community, plan=found, versions=listed,
                  compared=compared, older=older, newer=newer, fields=FIELD_LABELS,
                  outcomes=OUTCOME_LABELS)


@bp.get("/c/<int:community_id>/plans/<int:plan_id>/versions/<int:number>")
def version(community_id: int, plan_id: int, number: int):
    community = _community(community_id)
    require("plan.view", community)
    found = _plan(community, plan_id)
    shown = _version(found, number)
    decision = db.session.get(PlanDecision, shown.decision_id) if shown.decision_id else None
    return render("plan/version.html", community=community, plan=found, version=shown,
                  decision=decision, outcomes=OUTCOME_LABELS, categories=_category_names(),
                  latest=ops.latest_version(found))


@bp.get("/c/<int:community_id>/plans/<int:plan_id>/versions/<int:number>/list.<fmt>")
def export(community_id: int, plan_id: int, number: int, fmt: str):
    from . import exports

    community = _community(community_id)
    require("plan.view", community)
    found = _plan(community, plan_id)
    shown = _version(found, number)
    categories = _category_names()
    name = f"plan-{found.id}-v{shown.number}"
    if fmt == "csv":
        response = current_app.response_class(
            stream_with_context(exports.csv_lines(exports.heading(found, shown),
                                                  shown.projects, categories)),
            mimetype="text/csv")
    elif fmt == "json":
        response = current_app.response_class(
            stream_with_context(exports.json_lines(exports.json_head(found, shown),
                                                   shown.projects, categories)),
            mimetype="application/json")
    elif fmt == "xlsx":
        response = send_file(
            exports.xlsx_file(found, shown, categories), as_attachment=True,
            download_name=f"{name}.xlsx",
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        abort(404)
    if fmt != "json":
        response.headers["Content-Disposition"] = f"attachment; filename={name}.{fmt}"
    return response


@bp.post("/c/<int:community_id>/plans/<int:plan_id>/publish")
def publish(community_id: int, plan_id: int):
    community = _community(community_id)
    require("plan.decide", community)
    found = _plan(community, plan_id)
    if EmptyForm().validate_on_submit():
        days = current_app.config["PLAN_NOTICE_DAYS"]
        try:
            ops.publish(current_user, found, clock.now(), days, lambda p: url_for(
                "plan.notice", community_id=community.id, plan_id=p.id))
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            flash(_("The list is published: members may object for %(days)d days.",
                    days=days), "success")
            return see_other(url_for("plan.notice", community_id=community.id,
                                     plan_id=found.id))
    return see_other(url_for("plan.plan", community_id=community.id, plan_id=found.id))


def _notice_page(community: Community, plan: Plan, form: ObjectionForm, status: int = 200,
                 shown: PlanVersion | None = None):
    shown = shown or ops.noticed_version(plan)
    if shown is None:
        abort(404)
    _project_choices(shown, form)
    objections = paginate(select(Objection).where(Objection.plan_id == plan.id)
                          .order_by(Objection.created_at.desc(), Objection.id.desc()))
    now = clock.now()
    return render("plan/notice.html", status=status, community=community, plan=plan,
                  version=shown, form=form, objections=objections, now=now,
                  state=ops.notice_state(plan, now), outcomes=OUTCOME_LABELS,
                  answer_form=AnswerForm(formdata=None),
                  membership=membership_of(current_user, community))


@bp.get("/c/<int:community_id>/plans/<int:plan_id>/notice")
def notice(community_id: int, plan_id: int):
    community = _community(community_id)
    require("plan.view", community)
    return _notice_page(community, _plan(community, plan_id), ObjectionForm(formdata=None))


@bp.post("/c/<int:community_id>/plans/<int:plan_id>/objections")
def object_to(community_id: int, plan_id: int):
    community = _community(community_id)
    found = _plan(community, plan_id)
    require("plan.object", community, found, why=lambda: _(
        "Objections are taken from members of the community while the notice runs."))
    form = ObjectionForm()
    shown = ops.noticed_version(found)
    _project_choices(shown, form)
    if form.validate_on_submit():
        try:
            ops.object_to(current_user, found, parse_id(form.project_id.data),
                          form.reason.data, clock.now())
        except OperationError as error:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, str(error)]
        else:
            flash(_("Your objection is filed; the committee will answer it here."), "success")
            return see_other(url_for("plan.notice", community_id=community.id,
                                     plan_id=found.id, _anchor="objections"))
    return _notice_page(community, found, form, form_status(form), shown)


def _project_choices(shown: PlanVersion | None, form: ObjectionForm) -> None:
    form.project_id.choices = [SelectChoice("", _("— choose a project —")), *(
        SelectChoice(str(p["id"]), p["title"]) for p in (shown.projects if shown else []))]


@bp.post("/c/<int:community_id>/plans/<int:plan_id>/objections/<int:objection_id>/answer")
def answer(community_id: int, plan_id: int, objection_id: int):
    community = _community(community_id)
    require("plan.decide", community)
    found = _plan(community, plan_id)
    objection = db.session.get(Objection, objection_id)
    if objection is None or objection.plan_id != found.id:
        abort(404)
    form = AnswerForm()
    if form.validate_on_submit():
        ops.answer_objection(current_user, objection, form.answer.data, clock.now())
        flash(_("The answer is published."), "success")
    else:
        flash(" ".join(map(str, form.answer.errors)) or _("Write the committee's answer."),
              "error")
    return see_other(url_for("plan.notice", community_id=community.id, plan_id=found.id,
                             _anchor=f"objection-{objection.id}"))


@bp.get("/c/<int:community_id>/plans/<int:plan_id>/versions/<int:number>/print")
def print_version(community_id: int, plan_id: int, number: int):
    """The decision list on A4 paper, with a signature line for each member present."""
    community = _community(community_id)
    require("plan.view", community)
    found = _plan(community, plan_id)
    shown = _version(found, number)
    decision = db.session.get(PlanDecision, shown.decision_id) if shown.decision_id else None
    names = [n.strip() for n in decision.members_present.splitlines() if n.strip()] \
        if decision else []
    return render("plan/version_print.html", community=community, plan=found, version=shown,
                  decision=decision, names=names, outcomes=OUTCOME_LABELS, now=clock.now())


# --- carrying out the adopted projects, the public page of the plan ---------------------------


@bp.route("/c/<int:community_id>/plans/<int:plan_id>/projects/<int:project_id>/updates/new",
          methods=["GET", "POST"])
def track(community_id: int, plan_id: int, project_id: int):
    """Report how an adopted project is going: status, progress, what happened, photos."""
    community = _community(community_id)
    require("plan.track", community)
    found = _plan(community, plan_id)
    shown = _project(found, project_id)
    if ops.outcome_of(shown) != "adopt":
        flash(_("Only projects the committee adopted are carried out and tracked."), "error")
        return see_other(_project_url(shown))
    form = ProgressForm()
    if request.method == "GET":
        form.on.data = today_shown()
        form.status.data, form.progress.data = shown.status, shown.progress
        form.cancel_reason.data = shown.cancel_reason
    if form.validate_on_submit():
        try:
            photos = save_images(form.photos.data or [], "progress")
            ops.post_update(current_user, shown, on=form.on.data, status=form.status.data,
                            percent=form.progress.data, text=form.text.data,
                            cancel_reason=form.cancel_reason.data or "", photos=photos,
                            url=_project_url(shown, _anchor="progress"))
        except ImageRejected as error:
            db.session.rollback()
            form.photos.errors = [*form.photos.errors, str(error)]
        except OperationError as error:
            db.session.rollback()
            form.status.errors = [*form.status.errors, str(error)]
        else:
            flash(_("The update is published; the project's followers are told."), "success")
            return see_other(_project_url(shown, _anchor="progress"))
    return render("plan/track.html", community=community, plan=found, project=shown,
                  form=form, status=form_status(form))


@bp.post("/c/<int:community_id>/plans/<int:plan_id>/projects/<int:project_id>/follow")
def follow(community_id: int, plan_id: int, project_id: int):
    community = _community(community_id)
    require("plan.follow", community, why=lambda: _(
        "Members of the community follow its projects: join it first."))
    shown = _project(_plan(community, plan_id), project_id)
    if EmptyForm().validate_on_submit():
        wanted = request.form.get("follow") == "1"
        ops.follow(current_user, shown, wanted)
        flash(_("You follow this project: you are told of each update.") if wanted else
              _("You no longer follow this project."), "success")
    return see_other(_project_url(shown, _anchor="progress"))


@bp.get("/c/<int:community_id>/plans/<int:plan_id>/projects/<int:project_id>/updates/"
        "<int:update_id>/photos/<int:photo_id>")
def update_photo(community_id: int, plan_id: int, project_id: int, update_id: int,
                 photo_id: int):
    community = _community(community_id)
    require("plan.view", community)
    shown = _project(_plan(community, plan_id), project_id)
    photo = db.session.scalar(select(ProjectUpdatePhoto).join(ProjectUpdate).where(
        ProjectUpdatePhoto.id == photo_id, ProjectUpdatePhoto.update_id == update_id,
        ProjectUpdate.project_id == shown.id))
    if photo is None:
        abort(404)
    return send_image("progress", photo.filename)


def _public_plan(community: Community) -> Plan | None:
    """The plan the community carries out: the newest the committee has decided."""
    return db.session.scalar(select(Plan).join(PlanDecision, PlanDecision.plan_id == Plan.id)
                             .where(Plan.community_id == community.id)
                             .order_by(Plan.created_at.desc(), Plan.id.desc()).limit(1))


@bp.get("/c/<int:community_id>/our-plan")
def public(community_id: int):
    """Our plan: what the committee adopted and how far each project has come, for everyone,
    signed in or not; with the decided list's downloads and its notice."""
    community = _community(community_id)
    require("plan.view", community)
    found = _public_plan(community)
    page = progress = latest = None
    if found is not None:
        page = paginate(ops.adopted(found).options(joinedload(Project.site))
                        .order_by(Project.score.desc(), Project.id))
        progress, latest = ops.progress(found), ops.latest_version(found)
    return render("plan/public.html", community=community, plan=found, page=page,
                  progress=progress, latest=latest, statuses=STATUS_LABELS,
                  state=ops.plan_state(found, latest.number if latest else None, clock.now())
                  if found else None)


@bp.get("/c/<int:community_id>/plans/<int:plan_id>/notice/board")
def board_notice(community_id: int, plan_id: int):
    """The notice for the community's board, on A4: the list under notice, the period, how
    to object, and a QR code to the online notice."""
    import segno
    from markupsafe import Markup

    community = _community(community_id)
    require("plan.view", community)
    found = _plan(community, plan_id)
    shown = ops.noticed_version(found)
    if shown is None:
        abort(404)
    online = external_url("plan.notice", community_id=community.id, plan_id=found.id)
    code = io.BytesIO()
    segno.make(online, error="m").save(code, kind="svg", scale=5, xmldecl=False,
                                       svgns=True, title=_("QR code of the online notice"))
    return render("plan/board_notice.html", community=community, plan=found, version=shown,
                  online=online, qr=Markup(code.getvalue().decode()), outcomes=OUTCOME_LABELS,
                  local_address=public_address_is_local())


# --- the street's or district's view of its communities ----------------------------------------


def _street() -> str:
    return request.args.get("street", "").strip()[:80]


@bp.get("/district")
def district():
    """Every community at once, for the street or district: checklist completeness, open
    consultations, plan status and progress, and the gaps most common across them."""
    from . import district as figures

    require("district.view")
    street = _street()
    streets = figures.streets()
    per_page = current_app.config["PAGE_SIZE"]
    total = streets.get(street, 0) if street else sum(streets.values())
    page = RowPage(figures.page_of(street, clock.now(), page_number(), per_page),
                   page_number(), per_page, total)
    locale = select_locale()
    return render("plan/district.html", page=page, street=street, streets=streets,
                  rows=page.items, gaps=figures.common_gaps(street),
                  items={k: v.name(locale) for k, v in item_names().items()},
                  states=PLAN_STATE_LABELS)


@bp.get("/district.xlsx")
def district_export():
    from . import district as figures
    from . import exports

    require("district.view")
    street = _street()
    locale = select_locale()
    title = _("Communities of %(street)s, %(date)s", street=street or _("every street"),
              date=format_datetime(clock.now()))
    out = exports.district_xlsx(title, figures.all_figures(street, clock.now()),
                                figures.common_gaps(street),
                                {k: v.name(locale) for k, v in item_names().items()},
                                PLAN_STATE_LABELS)
    return send_file(out, as_attachment=True, download_name="district.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml."
                              "sheet")
