"""State changes and figures of the plan: the checkup (starting a round, recording an item's
finding, how complete the community is by the checklist), the inventory of sites, and the plan's
projects, built from the registered sources and scored by the plan's weights."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import gettext as _
from sqlalchemy import case, func, literal, select, update

from participation.accounts.models import User
from participation.clock import utcnow
from participation.audit.operations import record
from participation.communities.models import Community, Membership
from participation.database import insert_unless_exists
from participation.errors import OperationError
from participation.extensions import db
from participation.i18n import today_shown
from participation.registries import SourceItem, plan_sources
from participation.uploads import image_path
from participation.standards import Item, checklist, item_names
from participation.web import parse_ids

from .models import (
    OUTCOMES,
    SITE_KINDS,
    STANCES,
    STATES,
    Checkup,
    CheckupEntry,
    PROJECT_STATUSES,
    Objection,
    Plan,
    PlanDecision,
    PlanVersion,
    Project,
    ProjectDecision,
    ProjectFollower,
    ProjectResponse,
    ProjectSource,
    ProjectUpdate,
    ProjectUpdatePhoto,
    Site,
    SitePhoto,
    SitePlan,
)

# A finding's weight in the completeness score: what is present counts fully, what is there
# but falls short counts half, what is missing (or not yet checked) nothing.
WEIGHTS = {"present": Decimal(1), "insufficient": Decimal("0.5"), "missing": Decimal(0)}


def current_checkup(community: Community) -> Checkup | None:
    return db.session.scalar(select(Checkup).where(Checkup.community_id == community.id)
                             .order_by(Checkup.started_at.desc(), Checkup.id.desc()).limit(1))


def start_checkup(user: User, community: Community) -> Checkup:
    checkup = Checkup(community_id=community.id, started_by_id=user.id)
    db.session.add(checkup)
    db.session.flush()
    record("checkup.start", actor=user, community=community, target=f"checkup:{checkup.id}")
    return checkup


def record_finding(user: User, checkup: Checkup, item: Item, *, state: str,
                   value: Decimal | None, note: str, checked_on: date,
                   photo: str | None, remove_photo: bool) -> CheckupEntry:
    """Record (or correct) what the checkup found for one item."""
    if state not in STATES:
        raise OperationError(_("Choose whether the item is present, insufficient or missing."))
    if value is not None and item.measure is None:
        value = None  # nothing to measure: a stray value is not kept
    entry = db.session.scalar(select(CheckupEntry).where(
        CheckupEntry.checkup_id == checkup.id, CheckupEntry.item_id == item.id)
        .with_for_update())
    if entry is None:
        entry = CheckupEntry(checkup_id=checkup.id, item_id=item.id)
        db.session.add(entry)
    entry.state, entry.value, entry.note = state, value, note.strip()
    entry.checked_on, entry.checked_by_id = checked_on, user.id
    if photo:
        entry.photo = photo
    elif remove_photo:
        entry.photo = None
    db.session.flush()
    record("checkup.finding", actor=user, community=db.session.get(Community,
                                                                   checkup.community_id),
           target=f"checkup:{checkup.id}", item=item.id, state=state,
           value="" if value is None else str(value))
    return entry


def meets(item: Item, entry: CheckupEntry | None) -> bool | None:
    """Whether the measured value meets the item's reference value (None: nothing to compare)."""
    if entry is None or entry.value is None or item.measure is None \
            or item.measure.threshold is None:
        return None
    if item.measure.at_most:
        return entry.value <= item.measure.threshold
    return entry.value >= item.measure.threshold


@dataclass
class CategoryFigures:
    present: int = 0
    insufficient: int = 0
    missing: int = 0
    unchecked: int = 0
    items: list = field(default_factory=list)  # (item, entry or None)


def figures(entries: dict[str, CheckupEntry]) -> tuple[dict[str, CategoryFigures], Decimal]:
    """Per category, how many items are present, insufficient, missing or not yet checked; and
    the completeness score in percent (see WEIGHTS), over every item of the checklist."""
    categories, items = checklist()
    by_category = {c.id: CategoryFigures() for c in categories}
    total = Decimal(0)
    for item in items:
        figures_ = by_category.setdefault(item.category, CategoryFigures())
        entry = entries.get(item.id)
        figures_.items.append((item, entry))
        if entry is None:
            figures_.unchecked += 1
        else:
            setattr(figures_, entry.state, getattr(figures_, entry.state) + 1)
            total += WEIGHTS[entry.state]
    score = (total * 100 / len(items)).quantize(Decimal("0.1")) if items else Decimal(0)
    return by_category, score


def history(community: Community) -> list[tuple[Checkup, int, Decimal]]:
    """Every round of the community's checkup, newest first, with how many items it checked and
    its completeness score: one query, whatever the number of rounds."""
    items = len(checklist()[1]) or 1
    weight = case(*((CheckupEntry.state == s, w) for s, w in WEIGHTS.items()), else_=0)
    rows = db.session.execute(
        select(Checkup, func.count(CheckupEntry.id), func.coalesce(func.sum(weight), 0))
        .outerjoin(CheckupEntry, CheckupEntry.checkup_id == Checkup.id)
        .where(Checkup.community_id == community.id).group_by(Checkup.id)
        .order_by(Checkup.started_at.desc(), Checkup.id.desc())).all()
    return [(c, n, (Decimal(str(w)) * 100 / items).quantize(Decimal("0.1")))
            for c, n, w in rows]


# --- the inventory of sites -----------------------------------------------------------------

MAX_SITE_PHOTOS = 6


def save_site(user: User, community: Community, site: Site | None, *, kind: str, name: str,
              area_m2: Decimal | None, owner: str, state: str, notes: str,
              x: Decimal | None, y: Decimal | None, photos: list[str],
              remove_photos: list[int]) -> Site:
    if kind not in SITE_KINDS:
        raise OperationError(_("Choose the kind of site."))
    if (x is None) != (y is None):
        raise OperationError(_("Give both coordinates of the pin, or neither."))
    if site is None:
        site = Site(community_id=community.id)
        db.session.add(site)
    site.kind, site.name, site.area_m2 = kind, name.strip(), area_m2
    site.owner, site.state, site.notes = owner.strip(), state.strip(), notes.strip()
    site.x, site.y = x, y
    for photo in [p for p in site.photos if p.id in set(remove_photos)]:
        site.photos.remove(photo)
    if len(site.photos) + len(photos) > MAX_SITE_PHOTOS:
        raise OperationError(_("A site has at most %(n)d photos.", n=MAX_SITE_PHOTOS))
    site.photos.extend(SitePhoto(filename=f) for f in photos)
    db.session.flush()
    record("site.save", actor=user, community=community, target=f"site:{site.id}",
           name=site.name)
    return site


def save_site_plan(user: User, community: Community, image: str, width: int,
                   height: int) -> SitePlan:
    plan = db.session.get(SitePlan, community.id)
    if plan is None:
        plan = SitePlan(community_id=community.id)
        db.session.add(plan)
    plan.image, plan.width, plan.height = image, width, height
    db.session.flush()
    record("site_plan.save", actor=user, community=community, target=f"community:{community.id}")
    return plan


# --- plans, their projects and the projects' sources --------------------------------------


def weights_of(plan: Plan) -> dict[str, Decimal]:
    """The plan's weight for each registered source; a source registered after the plan was
    opened weighs its default."""
    return {key: Decimal(str(plan.weights.get(key, source.weight)))
            for key, source in plan_sources.items()}


def create_plan(user: User, community: Community, title: str) -> Plan:
    plan = Plan(community_id=community.id, title=title.strip(), created_by_id=user.id,
                weights={key: str(s.weight) for key, s in plan_sources.items()})
    db.session.add(plan)
    db.session.flush()
    record("plan.create", actor=user, community=community, target=f"plan:{plan.id}",
           name=plan.title)
    return plan


def plan_for_gaps(user: User, community: Community, title: str) -> Plan:
    """The plan a checkup gap goes to: the newest, or one opened now. The community's row is
    locked first, so that two clicks at once open one plan, not two."""
    db.session.get(Community, community.id, with_for_update=True)
    return newest_plan(community) or create_plan(user, community, title)


def newest_plan(community: Community) -> Plan | None:
    return db.session.scalar(select(Plan).where(Plan.community_id == community.id)
                             .order_by(Plan.created_at.desc(), Plan.id.desc()).limit(1))


def _check_place(community: Community, *, site_id: int | None, item_id: str | None,
                 category: str | None) -> str | None:
    """The project's category: its item's, where it names an item. Refuses a site of another
    community and an item or category the checklist does not have."""
    if site_id is not None:
        site = db.session.get(Site, site_id)
        if site is None or site.community_id != community.id:
            raise OperationError(_("Choose a site of this community's inventory."))
    if item_id:
        item = item_names().get(item_id)
        if item is None:
            raise OperationError(_("Choose an item of the checklist."))
        return item.category
    if category and category not in {c.id for c in checklist()[0]}:
        raise OperationError(_("Choose a category of the checklist."))
    return category or None


def save_project(user: User, plan: Plan, project: Project | None, *, title: str,
                 description: str, category: str | None, item_id: str | None,
                 site_id: int | None, cost: Decimal | None, funding: str, responsible: str,
                 timeline: str, versioned: bool = True) -> Project:
    community = db.session.get(Community, plan.community_id)
    category = _check_place(community, site_id=site_id, item_id=item_id, category=category)
    if project is None:
        project = Project(plan_id=plan.id, score=Decimal(0))
        db.session.add(project)
    project.title, project.description = title.strip(), description.strip()
    project.category, project.item_id, project.site_id = category, item_id or None, site_id
    project.cost, project.funding = cost, funding.strip()
    project.responsible, project.timeline = responsible.strip(), timeline.strip()
    db.session.flush()
    record("plan.project", actor=user, community=community, target=f"plan:{plan.id}",
           name=project.title)
    if versioned:
        changed_after_decision(user, plan, lambda: _("Saved the project “%(title)s”",
                                                     title=project.title))
    return project


def _source_item(community: Community, kind: str, ref: str) -> SourceItem:
    """What a planner picks: only sources the builder offers (the draft's review belongs to
    its own project), as they stand now."""
    source = plan_sources.get(kind)
    item = source.load(community, [ref]).get(ref) if source is not None and source.offered \
        else None
    if item is None:
        raise OperationError(_("This source is no longer there."))
    return item


def _locked(plan: Plan) -> Plan:
    """The plan, its row locked until the request commits (PostgreSQL; SQLite's writer holds
    the whole file): two clicks at once must not both find a source unused."""
    return db.session.get(Plan, plan.id, with_for_update=True, populate_existing=True)


def _link(project: Project, kind: str, item: SourceItem) -> ProjectSource:
    """A new (not yet added) link from the project to what it is built from."""
    link = ProjectSource(plan_id=project.plan_id, project_id=project.id, kind=kind,
                         ref=item.ref)
    _copy(link, item)
    return link


def _copy(link: ProjectSource, item: SourceItem) -> None:
    link.title, link.detail, link.url = item.title[:200], item.detail[:300], item.url
    link.signal = item.signal


def _refuse_if_planned(plan: Plan, kind: str, ref: str) -> None:
    """A source weighs in one project of a plan only (else its points would count twice):
    sent twice, or already used, it is refused, naming the project that holds it."""
    held = db.session.scalar(select(Project.title).join(
        ProjectSource, ProjectSource.project_id == Project.id).where(
        ProjectSource.plan_id == plan.id, ProjectSource.kind == kind,
        ProjectSource.ref == ref).limit(1))
    if held is not None:
        raise OperationError(_("This source is already in the plan, in the project "
                               "“%(title)s”.", title=held))


def planned_refs(plan: Plan, refs: set[str]) -> dict[tuple[str, str], list[tuple[int, str]]]:
    """Of these refs, those some project of the plan is built from: {(kind, ref): [(project
    id, title)]}, one query."""
    used: dict[tuple[str, str], list[tuple[int, str]]] = {}
    if refs:
        for kind, ref, project_id, title in db.session.execute(
                select(ProjectSource.kind, ProjectSource.ref, Project.id, Project.title)
                .join(Project, Project.id == ProjectSource.project_id)
                .where(ProjectSource.plan_id == plan.id, ProjectSource.ref.in_(refs))):
            used.setdefault((kind, ref), []).append((project_id, title))
    return used


def delete_project(user: User, project: Project) -> None:
    """Remove a project from the plan, its sources and residents' responses with it; what
    it was built from is offered again."""
    plan = db.session.get(Plan, project.plan_id)
    title = project.title
    db.session.delete(project)
    db.session.flush()
    record("plan.delete_project", actor=user,
           community=db.session.get(Community, plan.community_id), target=f"plan:{plan.id}",
           name=title)
    changed_after_decision(user, plan,
                           lambda: _("Removed the project “%(title)s”", title=title))


def add_source(user: User, project: Project, kind: str, ref: str) -> ProjectSource:
    """Add what the project is built from; the same thing twice is refused calmly."""
    plan = _locked(db.session.get(Plan, project.plan_id))
    community = db.session.get(Community, plan.community_id)
    item = _source_item(community, kind, ref)
    _refuse_if_planned(plan, kind, item.ref)
    link = _link(project, kind, item)
    if not insert_unless_exists(link):
        raise OperationError(_("The project already has this source."))
    rescore(plan, [project.id])
    record("plan.source", actor=user, community=community, target=f"plan:{plan.id}",
           name=project.title, source=link.title)
    changed_after_decision(user, plan,
                           lambda: _("Added a source to “%(title)s”", title=project.title))
    return link


def project_from_source(user: User, plan: Plan, kind: str, ref: str) -> Project:
    """A candidate project in one step: titled, placed and costed from what it comes from."""
    plan = _locked(plan)
    community = db.session.get(Community, plan.community_id)
    item = _source_item(community, kind, ref)
    _refuse_if_planned(plan, kind, item.ref)
    site_id = item.site_id
    if site_id is not None and db.session.get(Site, site_id) is None:
        site_id = None
    project = save_project(
        user, plan, None, title=item.title[:200], description="", category=item.category,
        item_id=item.item_id, site_id=site_id, cost=item.cost, funding="", responsible="",
        timeline="", versioned=False)
    db.session.add(_link(project, kind, item))
    db.session.flush()
    rescore(plan, [project.id])
    changed_after_decision(user, plan,
                           lambda: _("Added the project “%(title)s”", title=project.title))
    return project


def remove_source(user: User, project: Project, link: ProjectSource) -> None:
    plan = db.session.get(Plan, project.plan_id)
    db.session.delete(link)
    db.session.flush()
    rescore(plan, [project.id])
    record("plan.unsource", actor=user, community=db.session.get(Community, plan.community_id),
           target=f"plan:{plan.id}", name=project.title, source=link.title)
    changed_after_decision(user, plan, lambda: _("Removed a source from “%(title)s”",
                                                 title=project.title))


def rescore(plan: Plan, project_ids: list[int] | None = None) -> None:
    """Compute the priority score of the plan's projects (of those given) in one statement:
    the sum over each project's sources of the plan's weight for the source × its signal."""
    weights = weights_of(plan)
    weight = case(*((ProjectSource.kind == key, literal(w)) for key, w in weights.items()),
                  else_=literal(Decimal(0))) if weights else literal(Decimal(0))
    total = (select(func.coalesce(func.sum(ProjectSource.signal * weight), 0))
             .where(ProjectSource.project_id == Project.id).scalar_subquery())
    statement = update(Project).where(Project.plan_id == plan.id).values(score=total)
    if project_ids is not None:
        statement = statement.where(Project.id.in_(project_ids))
    db.session.execute(statement.execution_options(synchronize_session=False))
    db.session.expire_all()


def score_parts(plan: Plan, links: list[ProjectSource]) -> list[tuple[str, Decimal, Decimal,
                                                                      Decimal]]:
    """How a project's score adds up from its sources, per source kind in the registry's
    order: (kind, weight, signals, points)."""
    weights = weights_of(plan)
    signals: dict[str, Decimal] = {}
    for link in links:
        signals[link.kind] = signals.get(link.kind, Decimal(0)) + link.signal
    order = list(plan_sources)
    return [(kind, weights.get(kind, Decimal(0)), signal, weights.get(kind, Decimal(0)) * signal)
            for kind, signal in sorted(signals.items(), key=lambda kv: order.index(kv[0])
                                       if kv[0] in order else len(order))]


def set_weights(user: User, plan: Plan, weights: dict[str, Decimal], reason: str) -> bool:
    """Change the plan's weights, with the reason (required, audited); every score follows.
    False when nothing changed."""
    if not reason.strip():
        raise OperationError(_("Say why the weights change: the reason is kept in the log."))
    before = weights_of(plan)
    changed = {k: v for k, v in weights.items() if k in before and v != before[k]}
    if not changed:
        return False
    plan.weights = {**{k: str(v) for k, v in before.items()},
                    **{k: str(v) for k, v in changed.items()}}
    db.session.flush()
    rescore(plan)
    record("plan.weights", actor=user, community=db.session.get(Community, plan.community_id),
           target=f"plan:{plan.id}", reason=reason.strip(),
           changes="; ".join(f"{plan_sources[k].label} {before[k]:g} → {v:g}"
                             for k, v in changed.items()))
    changed_after_decision(user, plan, lambda: _("Changed the weights"))
    return True


def refresh_sources(user: User, plan: Plan) -> int:
    """Read every source of the plan again (supports and votes move on): one load per source
    kind and chunk; how many sources changed."""
    community = db.session.get(Community, plan.community_id)
    changed = 0
    for kind, source in plan_sources.items():
        refs = list(db.session.scalars(select(ProjectSource.ref).distinct().where(
            ProjectSource.plan_id == plan.id, ProjectSource.kind == kind)))
        for start in range(0, len(refs), 500):
            chunk = refs[start:start + 500]
            now = source.load(community, chunk)
            for link in db.session.scalars(select(ProjectSource).where(
                    ProjectSource.plan_id == plan.id, ProjectSource.kind == kind,
                    ProjectSource.ref.in_(chunk))):
                item = now.get(link.ref)
                if item is None:  # gone (a gap since met, a proposal turned down): it no
                    # longer counts, and says so
                    item = SourceItem(link.ref, link.title, Decimal(0),
                                      _("No longer there: it counts nothing."), link.url)
                if link.signal != item.signal:
                    changed += 1
                _copy(link, item)
    db.session.flush()
    rescore(plan)
    record("plan.refresh", actor=user, community=community, target=f"plan:{plan.id}",
           changed=str(changed))
    if changed:
        changed_after_decision(user, plan, lambda: _("Read the sources again"))
    return changed


def respond(user: User, project: Project, stance: str, comment: str) -> ProjectResponse:
    """A resident's support or objection to a project of the draft, with what they say: a
    second response replaces the first. It feeds the project's "draft review" source."""
    if stance not in STANCES:
        raise OperationError(_("Choose whether you support the project or object to it."))
    def mine() -> ProjectResponse | None:
        return db.session.scalar(select(ProjectResponse).where(
            ProjectResponse.project_id == project.id, ProjectResponse.user_id == user.id)
            .with_for_update())

    response = mine()
    if response is None:
        response = ProjectResponse(project_id=project.id, user_id=user.id, stance=stance,
                                   comment=comment.strip())
        if not insert_unless_exists(response):  # the same response sent twice at once
            response = mine()
    response.stance, response.comment = stance, comment.strip()
    db.session.flush()
    plan = db.session.get(Plan, project.plan_id)
    community = db.session.get(Community, plan.community_id)
    item = plan_sources["review"].load(community, [str(project.id)])[str(project.id)]
    link = db.session.scalar(select(ProjectSource).where(
        ProjectSource.project_id == project.id, ProjectSource.kind == "review"))
    if link is None:
        if insert_unless_exists(_link(project, "review", item)):
            link = None
        else:  # another resident's response made it at the same moment
            link = db.session.scalar(select(ProjectSource).where(
                ProjectSource.project_id == project.id, ProjectSource.kind == "review"))
    if link is not None:
        _copy(link, item)
    db.session.flush()
    rescore(plan, [project.id])
    return response


def review_items(community: Community, refs: list[str]) -> dict[str, SourceItem]:
    """The "draft review" source: residents' supports less objections, per project."""
    ids = parse_ids(refs)
    if not ids:
        return {}
    counts = {pid: (support, objection) for pid, support, objection in db.session.execute(
        select(Project.id,
               func.count(ProjectResponse.id).filter(ProjectResponse.stance == "support"),
               func.count(ProjectResponse.id).filter(ProjectResponse.stance == "object"))
        .join(Plan, Plan.id == Project.plan_id)
        .outerjoin(ProjectResponse, ProjectResponse.project_id == Project.id)
        .where(Project.id.in_(ids), Plan.community_id == community.id).group_by(Project.id))}
    return {str(pid): SourceItem(
        str(pid), _("Residents' responses to this project"), Decimal(support - objection),
        _("%(support)d support, %(object)d object", support=support, object=objection))
        for pid, (support, objection) in counts.items()}


GAP_SIGNALS = {"missing": Decimal(2), "insufficient": Decimal(1)}


def gap_items(community: Community, refs: list[str] | None = None,
              query: str = "") -> dict[str, SourceItem]:
    """The "checklist gap" source: items of the current checkup found missing (signal 2) or
    insufficient (signal 1); `ref` is the item's id."""
    from flask import url_for

    from participation.i18n import select_locale

    current = (select(Checkup.id).where(Checkup.community_id == community.id)
               .order_by(Checkup.started_at.desc(), Checkup.id.desc()).limit(1)
               .scalar_subquery())
    statement = select(CheckupEntry).where(CheckupEntry.checkup_id == current,
                                           CheckupEntry.state.in_(list(GAP_SIGNALS)))
    if refs is not None:
        statement = statement.where(CheckupEntry.item_id.in_(refs))
    items, locale = item_names(), select_locale()
    found = {}
    for entry in db.session.scalars(statement.order_by(CheckupEntry.id)):
        item = items.get(entry.item_id)
        if item is None or query.strip().casefold() not in item.name(locale).casefold():
            continue
        detail = _("missing") if entry.state == "missing" else _("insufficient")
        if entry.value is not None and item.measure and item.measure.threshold is not None:
            detail = _("%(state)s: %(value)s against a reference of %(threshold)s",
                       state=detail, value=format_decimal(entry.value),
                       threshold=format_decimal(item.measure.threshold))
        found[item.id] = SourceItem(
            item.id, _("Checklist gap: %(item)s", item=item.name(locale)),
            GAP_SIGNALS[entry.state], detail,
            url_for("plan.checkup", community_id=community.id, _anchor=f"item-{item.id}"),
            item_id=item.id, category=item.category)
    return found


def put_to_residents(user: User, plan: Plan, starts_at, url_for_consultation):
    """Open the plan's draft consultation ("plan draft" template): while its review phase
    runs, residents support or object to each project and say why."""
    from participation.consultations.operations import create_consultation

    plan = _locked(plan)
    if plan.consultation_id is not None:
        raise OperationError(_("The draft is already put to residents."))
    community = db.session.get(Community, plan.community_id)
    consultation = create_consultation(
        user, community, template="plan_draft", title=_("Draft: %(plan)s", plan=plan.title),
        description=_("Read the draft plan's projects and tell us, project by project, "
                      "whether you support it or object to it."),
        sites=None, starts_at=starts_at, url_for_consultation=url_for_consultation)
    plan.consultation_id = consultation.id
    db.session.flush()
    record("plan.consult", actor=user, community=community, target=f"plan:{plan.id}",
           title=consultation.title)
    return consultation


# --- the committee's decision, versions, public notice and objections ----------------------

VERSIONED_FIELDS = ("title", "description", "category", "item_id", "site", "cost", "funding",
                    "responsible", "timeline", "score", "outcome", "votes", "rationale")


def snapshot(plan: Plan) -> list[dict]:
    """The plan's list as it stands, for a version: every project (highest score first) with
    its latest decision and its sources. Three queries, whatever the number of projects."""
    from sqlalchemy.orm import joinedload

    decided: dict[int, ProjectDecision] = {}
    for outcome in db.session.scalars(
            select(ProjectDecision).join(PlanDecision)
            .where(PlanDecision.plan_id == plan.id).order_by(PlanDecision.id)):
        decided[outcome.project_id] = outcome  # a later decision replaces an earlier one
    links: dict[int, list[dict]] = {}
    for link in db.session.scalars(select(ProjectSource).where(ProjectSource.plan_id == plan.id)
                                   .order_by(ProjectSource.id)):
        links.setdefault(link.project_id, []).append(
            {"kind": link.kind, "title": link.title, "detail": link.detail,
             "signal": str(link.signal), "url": link.url})
    rows = []
    for project in db.session.scalars(
            select(Project).where(Project.plan_id == plan.id)
            .options(joinedload(Project.site)).order_by(Project.score.desc(), Project.id)):
        outcome = decided.get(project.id)
        rows.append({
            "id": project.id, "title": project.title, "description": project.description,
            "category": project.category, "item_id": project.item_id,
            "site": project.site.name if project.site else None,
            "cost": None if project.cost is None else f"{project.cost:.2f}",
            "funding": project.funding, "responsible": project.responsible,
            "timeline": project.timeline,
            "score": format((project.score or Decimal(0)).normalize(), "f"),
            "outcome": outcome.outcome if outcome else None,
            "votes": [outcome.votes_for, outcome.votes_against, outcome.votes_abstain]
            if outcome else None,
            "rationale": outcome.rationale if outcome else "",
            "sources": links.get(project.id, [])})
    return rows


def latest_version(plan: Plan) -> PlanVersion | None:
    """The newest version, without its list (megabytes for a large plan: loaded when read)."""
    from sqlalchemy.orm import defer

    return db.session.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan.id)
                             .options(defer(PlanVersion.projects))
                             .order_by(PlanVersion.number.desc()).limit(1))


def _new_version(user: User, plan: Plan, change: str,
                 decision: PlanDecision | None = None) -> PlanVersion:
    plan = _locked(plan)  # two changes at once number their versions one after the other
    number = (db.session.scalar(select(func.max(PlanVersion.number))
                                .where(PlanVersion.plan_id == plan.id)) or 0) + 1
    version = PlanVersion(plan_id=plan.id, number=number, change=change[:300],
                          decision_id=decision.id if decision else None, made_by_id=user.id,
                          projects=snapshot(plan))
    db.session.add(version)
    db.session.flush()
    return version


def changed_after_decision(user: User, plan: Plan, change) -> PlanVersion | None:
    """Once the committee has decided, every later change to the list makes a new version;
    `change()` says what changed (in words, only when there is a version to make)."""
    if db.session.scalar(select(PlanVersion.id).where(PlanVersion.plan_id == plan.id)
                         .limit(1)) is None:
        return None
    return _new_version(user, plan, change())


def committee_size(community: Community) -> int:
    from participation.policy import Role

    return db.session.scalar(select(func.count(Membership.id)).where(
        Membership.community_id == community.id, Membership.role == Role.COMMITTEE.value,
        Membership.revoked_at.is_(None))) or 0


def notice_state(plan: Plan, now) -> str | None:
    """None (never published), "running" or "over"."""
    if plan.notice_ends_at is None:
        return None
    return "running" if now < plan.notice_ends_at else "over"


def plan_state(plan: Plan, latest_number: int | None, now) -> str:
    """Where a plan stands: "draft" (never decided), "decided" (its newest version not yet
    under notice), "notice" (under notice now) or "final" (its newest version's notice over)."""
    state = notice_state(plan, now)
    if state == "running":
        return "notice"
    if state == "over" and plan.notice_version == latest_number:
        return "final"
    return "decided" if latest_number else "draft"


def decide(user: User, plan: Plan, *, held_on: date, members_present: str, present: int,
           size: int, outcomes: dict[int, tuple[str, int, int, int, str]], now,
           based_on: int = 0) -> PlanVersion:
    """Record the committee meeting's decision on every project of the list and freeze the
    list as a new version. More than half of the committee must be present; each project
    needs an outcome, and no more votes than members present."""
    plan = _locked(plan)
    latest = latest_version(plan)
    if (latest.number if latest else 0) != based_on:  # sent twice, or decided meanwhile
        raise OperationError(_("The list has changed since this form was opened (it is now "
                               "at version %(n)d): open the form again.",
                               n=latest.number if latest else 0))
    if notice_state(plan, now) == "running":
        raise OperationError(_("The plan is under public notice until %(date)s: decide again "
                               "after it.", date=format_datetime(plan.notice_ends_at)))
    if size < 1 or present < 0 or present > size:
        raise OperationError(_("The members present cannot be more than the committee has."))
    if present * 2 <= size:
        raise OperationError(_("The committee's quorum is not met: more than half of its "
                               "%(size)d members must be present.", size=size))
    projects = db.session.scalars(select(Project).where(Project.plan_id == plan.id)).all()
    if not projects:
        raise OperationError(_("The plan has no project to decide on."))
    missing = [p.title for p in projects if p.id not in outcomes]
    if missing:
        raise OperationError(_("Decide on every project: “%(title)s” has no decision yet.",
                               title=missing[0]))
    decision = PlanDecision(plan_id=plan.id, held_on=held_on,
                            members_present=members_present.strip(), present=present,
                            committee_size=size, created_by_id=user.id)
    for project in projects:
        outcome, votes_for, against, abstain, rationale = outcomes[project.id]
        if outcome not in OUTCOMES:
            raise OperationError(_("Choose adopt, defer or reject for “%(title)s”.",
                                   title=project.title))
        if min(votes_for, against, abstain) < 0 or votes_for + against + abstain > present:
            raise OperationError(_("“%(title)s” has more votes than members present.",
                                   title=project.title))
        decision.outcomes.append(ProjectDecision(
            project_id=project.id, outcome=outcome, votes_for=votes_for,
            votes_against=against, votes_abstain=abstain, rationale=rationale.strip()))
    db.session.add(decision)
    db.session.flush()
    version = _new_version(user, plan, _("Decided by the committee on %(date)s",
                                         date=format_date(held_on)), decision)
    record("plan.decide", actor=user, community=db.session.get(Community, plan.community_id),
           target=f"plan:{plan.id}", version=str(version.number),
           present=f"{present}/{size}")
    return version


def diff(older: PlanVersion, newer: PlanVersion) -> dict:
    """What changed from one version to another: projects added, removed, and for those in
    both the fields that changed, (field, before, after)."""
    before = {p["id"]: p for p in older.projects}
    after = {p["id"]: p for p in newer.projects}
    changed = []
    for pid in after.keys() & before.keys():
        fields = [(f, before[pid].get(f), after[pid].get(f)) for f in VERSIONED_FIELDS
                  if before[pid].get(f) != after[pid].get(f)]
        if [s["title"] for s in before[pid]["sources"]] != \
                [s["title"] for s in after[pid]["sources"]]:
            fields.append(("sources", ", ".join(s["title"] for s in before[pid]["sources"]),
                           ", ".join(s["title"] for s in after[pid]["sources"])))
        if fields:
            changed.append((after[pid], fields))
    return {"added": [p for pid, p in after.items() if pid not in before],
            "removed": [p for pid, p in before.items() if pid not in after],
            "changed": sorted(changed, key=lambda c: c[0]["title"])}


def publish(user: User, plan: Plan, now, days: int, url_for_notice) -> None:
    """Put the newest version under public notice for `days` days."""
    from datetime import timedelta

    from participation.notifications.operations import notify_members

    plan = _locked(plan)
    version = latest_version(plan)  # versions begin with the committee's first decision
    if version is None:
        raise OperationError(_("The committee decides the list before it is published."))
    if notice_state(plan, now) == "running":
        raise OperationError(_("The plan is already under public notice until %(date)s.",
                               date=format_datetime(plan.notice_ends_at)))
    plan.notice_version, plan.notice_starts_at = version.number, now
    plan.notice_ends_at = now + timedelta(days=days)
    db.session.flush()
    community = db.session.get(Community, plan.community_id)
    record("plan.publish", actor=user, community=community, target=f"plan:{plan.id}",
           version=str(version.number), days=str(days))
    notify_members(community, "plan.notice", url_for_notice(plan), exclude=user.id,
                   title=plan.title)


def noticed_version(plan: Plan) -> PlanVersion | None:
    if plan.notice_version is None:
        return None
    return db.session.scalar(select(PlanVersion).where(
        PlanVersion.plan_id == plan.id, PlanVersion.number == plan.notice_version))


def object_to(user: User, plan: Plan, project_id: int | None, reason: str, now) -> Objection:
    """A member's objection to a project of the list under notice, while the notice runs."""
    if notice_state(plan, now) != "running":
        if plan.notice_ends_at is None:
            raise OperationError(_("The plan is not under public notice."))
        raise OperationError(_("The notice period ended on %(date)s: the plan is final and "
                               "objections are no longer taken.",
                               date=format_datetime(plan.notice_ends_at)))
    version = noticed_version(plan)
    project = next((p for p in version.projects if p["id"] == project_id), None)
    if project is None:
        raise OperationError(_("Choose a project of the list under notice."))
    if not reason.strip():
        raise OperationError(_("Say why you object."))
    same = db.session.scalar(select(Objection).where(
        Objection.plan_id == plan.id, Objection.user_id == user.id,
        Objection.project_id == project_id, Objection.reason == reason.strip()))
    if same is not None:  # sent twice
        return same
    standing = db.session.get(Project, project_id)  # removed since, it keeps its title
    objection = Objection(plan_id=plan.id, version=version.number,
                          project_id=project_id if standing is not None else None,
                          project_title=project["title"], user_id=user.id,
                          reason=reason.strip())
    db.session.add(objection)
    db.session.flush()
    return objection


def answer_objection(user: User, objection: Objection, text: str, now) -> None:
    if not text.strip():
        raise OperationError(_("Write the committee's answer."))
    objection.answer, objection.answered_at = text.strip(), now
    objection.answered_by_id = user.id
    db.session.flush()
    plan = db.session.get(Plan, objection.plan_id)
    record("plan.answer", actor=user, community=db.session.get(Community, plan.community_id),
           target=f"plan:{plan.id}", name=objection.project_title)


# --- carrying out the adopted projects ---------------------------------------------------------


def latest_decision(plan: Plan) -> PlanDecision | None:
    return db.session.scalar(select(PlanDecision).where(PlanDecision.plan_id == plan.id)
                             .order_by(PlanDecision.id.desc()).limit(1))


def outcome_column():
    """The committee's latest decision on each project (each decision covers every project of
    the list then), or NULL while it is undecided: a column for a query of projects."""
    return (select(ProjectDecision.outcome).join(PlanDecision)
            .where(ProjectDecision.project_id == Project.id)
            .order_by(PlanDecision.id.desc()).limit(1).scalar_subquery())


def follows_column(user: User | None):
    """Whether `user` follows each project: a column for a query of projects."""
    if user is None:
        return literal(None)
    return select(ProjectFollower.id).where(ProjectFollower.project_id == Project.id,
                                            ProjectFollower.user_id == user.id).exists()


def outcome_of(project: Project) -> str | None:
    return db.session.scalar(select(outcome_column()).where(Project.id == project.id))


def adopted(plan: Plan):
    """A query of the projects adopted by the committee's latest decision."""
    decision = (select(func.max(PlanDecision.id)).where(PlanDecision.plan_id == plan.id)
                .scalar_subquery())
    return select(Project).join(ProjectDecision, ProjectDecision.project_id == Project.id).where(
        ProjectDecision.decision_id == decision, ProjectDecision.outcome == "adopt")


@dataclass
class Progress:
    """How the adopted projects of a plan stand: how many in each status, and their mean
    progress (cancelled projects left out)."""

    statuses: dict[str, int]
    percent: int

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def progress(plan: Plan) -> Progress:
    projects = adopted(plan).subquery()
    counts = {status: 0 for status in PROJECT_STATUSES}
    total = weighted = 0
    for status, count, percent in db.session.execute(
            select(projects.c.status, func.count(), func.coalesce(func.sum(projects.c.progress),
                                                                   0))
            .group_by(projects.c.status)):
        counts[status] = count
        if status != "cancelled":
            total, weighted = total + count, weighted + int(percent)
    return Progress(counts, round(weighted / total) if total else 0)


RESENT_WITHIN = timedelta(minutes=10)  # the same update sent again this soon is one


def post_update(user: User, project: Project, *, on: date, status: str, percent: int,
                text: str, cancel_reason: str, photos: list[str], url: str) -> ProjectUpdate:
    """A dated update on an adopted project: its status and progress then, what happened and
    photos. The newest update (by date) is the project's state; its followers are told.

    The same update sent again by the same person within minutes (a double click, a reload)
    is the one already published: it is neither stored nor announced twice."""
    from participation.notifications.operations import notify

    if outcome_of(project) != "adopt":
        raise OperationError(_("Only projects the committee adopted are carried out and "
                               "tracked."))
    if status not in PROJECT_STATUSES:
        raise OperationError(_("Choose the project's status."))
    if not 0 <= percent <= 100:
        raise OperationError(_("Progress is a percentage from 0 to 100."))
    if on > today_shown():
        raise OperationError(_("An update reports what has happened: its date cannot be in "
                               "the future."))
    cancel_reason = cancel_reason.strip() if status == "cancelled" else ""
    if status == "cancelled" and not cancel_reason:
        raise OperationError(_("Say why the project is cancelled."))
    percent = 100 if status == "done" else percent
    text = text.strip()
    # The project's row is held until the request commits: two sends at once are one update.
    project = db.session.get(Project, project.id, with_for_update=True, populate_existing=True)
    mine = db.session.scalar(select(ProjectUpdate).where(
        ProjectUpdate.project_id == project.id, ProjectUpdate.created_by_id == user.id,
        ProjectUpdate.created_at >= utcnow() - RESENT_WITHIN)
        .order_by(ProjectUpdate.id.desc()).limit(1))
    if mine is not None and (mine.on, mine.status, mine.progress, mine.text,
                             mine.cancel_reason) == (on, status, percent, text, cancel_reason):
        for name in photos:  # the second send's copies of the photos: nothing refers to them
            image_path("progress", name).unlink(missing_ok=True)
        return mine
    newest = db.session.scalar(select(ProjectUpdate.on).where(
        ProjectUpdate.project_id == project.id).order_by(ProjectUpdate.on.desc()).limit(1))
    update_ = ProjectUpdate(project_id=project.id, on=on, status=status, progress=percent,
                            text=text, cancel_reason=cancel_reason, created_by_id=user.id,
                            photos=[ProjectUpdatePhoto(filename=name) for name in photos])
    db.session.add(update_)
    if newest is None or on >= newest:
        project.status, project.progress = status, percent
        project.cancel_reason, project.updated_on = cancel_reason, on
    db.session.flush()
    plan = db.session.get(Plan, project.plan_id)
    community = db.session.get(Community, plan.community_id)
    record("plan.update", actor=user, community=community, target=f"plan:{plan.id}",
           name=project.title, status=status, progress=str(percent), on=on.isoformat(),
           reason=cancel_reason or None)
    # Those who follow it and still belong to the community (not left, not blocked).
    followers = db.session.scalars(
        select(ProjectFollower.user_id)
        .join(Membership, (Membership.user_id == ProjectFollower.user_id)
              & (Membership.community_id == community.id))
        .where(ProjectFollower.project_id == project.id, ProjectFollower.user_id != user.id,
               Membership.revoked_at.is_(None), Membership.blocked_at.is_(None))).all()
    notify(followers, "plan.update", url, title=project.title, status=status)
    return update_


def follow(user: User, project: Project, wanted: bool) -> None:
    """Follow a project (be told of its updates), or stop; asking twice changes nothing."""
    if wanted:
        insert_unless_exists(ProjectFollower(project_id=project.id, user_id=user.id))
    else:
        db.session.execute(db.delete(ProjectFollower).where(
            ProjectFollower.project_id == project.id, ProjectFollower.user_id == user.id))
    db.session.flush()
