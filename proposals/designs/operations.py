"""State changes of children's design calls: opening a call, submitting and moderating designs,
workshops on paper consents, stickers and the workshop tallies, results, promotion into a
proposal, and the erasers that withdrawal runs.

Every use of a child's data checks the guardian's valid consent first, before any file is
written."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, select, union_all, update

from participation.accounts.models import User
from participation.audit.operations import record
from participation.children import operations as children
from participation.children.models import ChildProfile, PaperConsent
from participation.clock import utcnow
from participation.communities.models import Community
from participation.consultations.models import Consultation
from participation.database import insert_unless_exists
from participation.errors import OperationError
from participation.extensions import db
from participation.i18n import today_shown
from participation.plan import operations as plan_ops
from participation.plan.models import Plan, ProjectSource, Site
from participation.registries import SourceItem
from participation.uploads import ImageRejected, delete_after_commit, save_image
from proposals.models import CHILDREN_CREDIT, Proposal

from .models import TITLE_MAX, WANT_MAX, Design, DesignCall, Sticker, Workshop, WorkshopTally

FOLDER = "designs"
KIND = "children_design"  # the consultation template whose consultations hold design calls
DESIGNS_PER_CHILD = 3  # in one call
RESENT_WITHIN = timedelta(minutes=10)


def stickers_per_child() -> int:
    return int(current_app.config["DESIGN_STICKERS"])


def _bands(bands: list[str]) -> str:
    known = current_app.config["CHILD_AGE_BANDS"]
    chosen = [b for b in known if b in bands]
    if not chosen:
        raise OperationError(_("Choose at least one age band."))
    return ",".join(chosen)


def save_call(planner: User, consultation: Consultation, call: DesignCall | None, *,
              title: str, prompt: str, site_id: int | None, bands: list[str]) -> DesignCall:
    if consultation.template != KIND:
        raise OperationError(_("Design calls are opened in consultations of the children's "
                               "design kind."))
    if site_id is not None and db.session.scalar(select(Site.id).where(
            Site.id == site_id, Site.community_id == consultation.community_id)) is None:
        raise OperationError(_("Choose a site of this community's inventory."))
    new = call is None
    if new:
        # The consultation's row is held until the request commits: a double send opens one.
        db.session.get(Consultation, consultation.id, with_for_update=True)
        sent = db.session.scalar(select(DesignCall).where(
            DesignCall.consultation_id == consultation.id,
            DesignCall.created_by_id == planner.id, DesignCall.title == title.strip(),
            DesignCall.created_at >= utcnow() - RESENT_WITHIN))
        if sent is not None:
            return sent
        call = DesignCall(consultation_id=consultation.id,
                          community_id=consultation.community_id, created_by_id=planner.id)
        db.session.add(call)
    call.title, call.prompt, call.site_id = title.strip(), prompt.strip(), site_id
    call.age_bands = _bands(bands)
    db.session.flush()
    record("design.call_open" if new else "design.call_edit", actor=planner,
           community=db.session.get(Community, consultation.community_id),
           target=f"design_call:{call.id}")
    return call


def guardian_child(guardian: User, call: DesignCall, child_id: int | None) -> ChildProfile:
    """The guardian's own child, invited by the call's age bands."""
    child = db.session.get(ChildProfile, child_id) if child_id else None
    if child is None or child.guardian_id != guardian.id \
            or child.community_id != call.community_id:
        raise OperationError(_("Choose one of your children."))
    if child.age_band not in call.bands:
        raise OperationError(_("This call invites children of %(bands)s years.",
                               bands=_(", ").join(call.bands)))
    return child


def _texts(title: str, want: str) -> tuple[str, str]:
    title, want = " ".join(title.split()), want.strip()
    if children.identifying(title) or children.identifying(want):
        raise OperationError(_("Leave out phone numbers, ID numbers and e-mail addresses: "
                               "the gallery is public."))
    if not title or len(title) > TITLE_MAX:
        raise OperationError(_("Give the design a title of at most %(n)d characters.",
                               n=TITLE_MAX))
    if len(want) > WANT_MAX:
        raise OperationError(_("“What I want here” has at most %(n)d characters.", n=WANT_MAX))
    return title, want


def submit_design(guardian: User, call: DesignCall, child_id: int | None, title: str,
                  want: str, drawing) -> Design:
    """A guardian submits their child's design, to be moderated. Consent, the child and the
    texts are checked before the drawing is read or written."""
    community = db.session.get(Community, call.community_id)
    children.require_consent(guardian, community)
    child = guardian_child(guardian, call, child_id)
    title, want = _texts(title, want)
    # The child's row is held until the request commits: a double send is one design.
    child = db.session.get(ChildProfile, child.id, with_for_update=True, populate_existing=True)
    if child is None:  # deleted by the guardian meanwhile
        raise OperationError(_("Choose one of your children."))
    designs = list(db.session.scalars(select(Design).where(
        Design.call_id == call.id, Design.child_id == child.id).order_by(Design.id.desc())))
    if designs and designs[0].status == "pending" and designs[0].title == title \
            and designs[0].want == want and designs[0].created_at >= utcnow() - RESENT_WITHIN:
        return designs[0]  # sent twice; nothing read, nothing written
    if len(designs) >= DESIGNS_PER_CHILD:
        raise OperationError(ngettext(
            "Each child submits at most %(num)d design to a call.",
            "Each child submits at most %(num)d designs to a call.", DESIGNS_PER_CHILD))
    full, thumb = save_image(drawing, FOLDER, thumbnail=True)
    design = Design(call_id=call.id, child_id=child.id, title=title, want=want,
                    filename=full, thumbnail=thumb)
    db.session.add(design)
    db.session.flush()
    record("design.submit", actor=guardian, community=community,
           target=f"design_call:{call.id}")
    return design


def moderate(user: User, design: Design, status: str) -> None:
    if status not in ("approved", "rejected"):
        raise OperationError(_("Approve or turn down the design."))
    design = db.session.get(Design, design.id, with_for_update=True, populate_existing=True)
    if design is None:
        raise OperationError(_("This design has been deleted: its guardian withdrew it."))
    design.status, design.reviewed_at = status, utcnow()
    if status == "rejected":
        db.session.execute(delete(Sticker).where(Sticker.design_id == design.id))
    record("design.moderate", actor=user, community=db.session.get(Community,
                                                                   design.call.community_id),
           target=f"design_call:{design.call_id}", status=status)


@dataclass
class WorkshopDrawing:
    nickname: str
    age_band: str
    title: str
    want: str
    drawing: object  # the uploaded file's stream


class DrawingRefused(OperationError):
    """One drawing of a workshop's batch is refused: `row` says which (from 0), `field` what
    in it ("nickname", "age_band", "title" or "drawing")."""

    def __init__(self, row: int, field: str, message: str):
        super().__init__(message)
        self.row, self.field = row, field


def add_workshop(planner: User, call: DesignCall, *, place: str, held_on: date,
                 collected_by: str, collected_on: date, consents: int,
                 drawings: list[WorkshopDrawing]) -> Workshop:
    """An offline workshop's drawings, for children without accounts, under the planner's
    attestation of the guardians' paper consents. The planner has seen the drawings: they are
    approved as they come in. The same batch sent twice is recorded once."""
    community = db.session.get(Community, call.community_id)
    if held_on > today_shown():
        raise OperationError(_("Record a workshop once it has been held: its date cannot be in "
                               "the future."))
    place = " ".join(place.split())
    if not place:
        raise OperationError(_("Say where the workshop was held."))
    for i, row in enumerate(drawings):
        if row.age_band not in call.bands:
            raise DrawingRefused(i, "age_band", _("This call invites children of %(bands)s "
                                                  "years.", bands=_(", ").join(call.bands)))
        try:
            row.nickname, row.age_band = children.checked_child(row.nickname, row.age_band)
        except OperationError as error:
            raise DrawingRefused(i, "nickname", str(error)) from None
        try:
            row.title, row.want = _texts(row.title, row.want)
        except OperationError as error:
            raise DrawingRefused(i, "title", str(error)) from None
    # The call's row is held until the request commits, so a batch sent twice is seen.
    db.session.get(DesignCall, call.id, with_for_update=True)
    nicknames = sorted(row.nickname for row in drawings)
    for sent in db.session.scalars(select(Workshop).join(Workshop.paper_consent).where(
            Workshop.call_id == call.id, Workshop.place == place, Workshop.held_on == held_on,
            PaperConsent.collected_by == " ".join(collected_by.split()),
            Workshop.created_at >= utcnow() - RESENT_WITHIN)):
        if sorted(db.session.scalars(select(ChildProfile.nickname).where(
                ChildProfile.paper_consent_id == sent.paper_consent_id))) == nicknames:
            return sent
    profiles = children.attest_paper_consents(
        planner, community, collected_by, collected_on, consents,
        [(row.nickname, row.age_band) for row in drawings])
    workshop = Workshop(call_id=call.id, paper_consent_id=profiles[0].paper_consent_id,
                        place=place, held_on=held_on)
    db.session.add(workshop)
    db.session.flush()
    for i, (row, child) in enumerate(zip(drawings, profiles)):
        try:
            full, thumb = save_image(row.drawing, FOLDER, thumbnail=True)
        except ImageRejected as error:
            # The request rolls back: the drawings saved before this one go with it.
            raise DrawingRefused(i, "drawing", str(error)) from None
        db.session.add(Design(call_id=call.id, child_id=child.id, workshop_id=workshop.id,
                              title=row.title, want=row.want, filename=full, thumbnail=thumb,
                              status="approved", reviewed_at=utcnow()))
    db.session.flush()
    return workshop


def place_sticker(guardian: User, design: Design, child_id: int | None) -> int:
    """The child places one of their N stickers on the design; returns how many are left.
    A child with none left is told so. The slot key holds the limit under concurrency."""
    call = design.call
    children.require_consent(guardian, db.session.get(Community, call.community_id))
    child = guardian_child(guardian, call, child_id)
    if design.status != "approved":
        raise OperationError(_("Stickers go on designs shown in the gallery."))
    limit = stickers_per_child()
    for _attempt in range(limit):
        used = set(db.session.scalars(select(Sticker.slot).where(
            Sticker.call_id == call.id, Sticker.child_id == child.id)))
        free = [slot for slot in range(1, limit + 1) if slot not in used]
        if not free:
            break
        if insert_unless_exists(Sticker(call_id=call.id, child_id=child.id, slot=free[0],
                                        design_id=design.id)):
            return len(free) - 1
    raise OperationError(ngettext(
        "%(name)s has placed their sticker: take it back from a design to move it.",
        "%(name)s has placed all %(num)d stickers: take one back from a design to move it.",
        limit, name=child.nickname))


def take_back(guardian: User, design: Design, child_id: int | None) -> bool:
    child = guardian_child(guardian, design.call, child_id)
    slot = db.session.scalar(select(func.max(Sticker.slot)).where(
        Sticker.call_id == design.call_id, Sticker.child_id == child.id,
        Sticker.design_id == design.id))
    if slot is None:
        return False  # taken back already
    db.session.execute(delete(Sticker).where(
        Sticker.call_id == design.call_id, Sticker.child_id == child.id, Sticker.slot == slot))
    return True


def guardian_view(call: DesignCall, user, voting: bool, chosen: int | None):
    """What the signed-in guardian sees of their own children on the call's page: the
    children the call invites, their designs in it (any state), the stickers each placed
    (while `voting`), and the child choosing now (`chosen`, else the first)."""
    if not user.is_authenticated:
        return [], [], {}, None
    rows = db.session.execute(
        select(ChildProfile, Design)
        .outerjoin(Design, (Design.child_id == ChildProfile.id) & (Design.call_id == call.id))
        .where(ChildProfile.guardian_id == user.id,
               ChildProfile.community_id == call.community_id)
        .order_by(ChildProfile.id, Design.id)).all()
    kids = list({child.id: child for child, _design in rows}.values())
    mine = [design for _child, design in rows if design is not None]
    invited = [k for k in kids if k.age_band in call.bands]
    placed = stickers_of(call, [k.id for k in invited]) if voting else {}
    voter = next((k for k in invited if k.id == chosen), invited[0] if invited else None)
    return invited, mine, placed, voter


def stickers_of(call: DesignCall, child_ids: list[int]) -> dict[int, dict[int, int]]:
    """{child id: {design id: stickers}} for the guardian's children."""
    placed: dict[int, dict[int, int]] = {c: {} for c in child_ids}
    if child_ids:
        for child_id, design_id, n in db.session.execute(
                select(Sticker.child_id, Sticker.design_id, func.count())
                .where(Sticker.call_id == call.id, Sticker.child_id.in_(child_ids))
                .group_by(Sticker.child_id, Sticker.design_id)):
            placed[child_id][design_id] = n
    return placed


def save_tally(planner: User, workshop: Workshop, counts: dict[tuple[int, str], int]) -> None:
    """Replace the workshop's tally: stickers per approved design and age band. A workshop
    whose children hold N stickers each cannot place more than N times its paper consents."""
    call = db.session.get(DesignCall, workshop.call_id)
    approved = set(db.session.scalars(select(Design.id).where(
        Design.call_id == call.id, Design.status == "approved")))
    limit = stickers_per_child() * workshop.paper_consent.count
    if any(n < 0 for n in counts.values()):
        raise OperationError(_("Count the stickers as 0 or more."))
    if sum(counts.values()) > limit:
        raise OperationError(_("%(count)d children hold %(limit)d stickers between them: the "
                               "tally cannot count more.", count=workshop.paper_consent.count,
                               limit=limit))
    db.session.execute(delete(WorkshopTally).where(WorkshopTally.workshop_id == workshop.id))
    db.session.add_all(WorkshopTally(workshop_id=workshop.id, design_id=design_id,
                                     age_band=band, stickers=n)
                       for (design_id, band), n in counts.items()
                       if n and design_id in approved and band in call.bands)
    db.session.flush()
    record("design.tally", actor=planner, community=db.session.get(Community,
                                                                   call.community_id),
           target=f"design_call:{call.id}", stickers=str(sum(counts.values())))


@dataclass
class Result:
    id: int
    title: str
    total: int = 0
    by_band: dict[str, int] = field(default_factory=dict)


def gallery_query(call: DesignCall):
    """The approved designs, oldest first, with their children (nickname and age band are all
    a page shows of a child)."""
    from sqlalchemy.orm import joinedload

    return (select(Design).where(Design.call_id == call.id, Design.status == "approved")
            .options(joinedload(Design.child)).order_by(Design.id))


def gallery(call: DesignCall) -> list[Design]:
    return list(db.session.scalars(gallery_query(call)))


def results(call: DesignCall) -> list[Result]:
    """The children's favourites: stickers placed through guardians and counted at
    workshops, per approved design and age band, most stickered first (one query)."""
    online = (select(Sticker.design_id.label("design_id"), ChildProfile.age_band.label("band"),
                     func.count().label("n"))
              .join(ChildProfile, ChildProfile.id == Sticker.child_id)
              .where(Sticker.call_id == call.id)
              .group_by(Sticker.design_id, ChildProfile.age_band))
    paper = (select(WorkshopTally.design_id, WorkshopTally.age_band,
                    func.sum(WorkshopTally.stickers))
             .join(Workshop, Workshop.id == WorkshopTally.workshop_id)
             .where(Workshop.call_id == call.id)
             .group_by(WorkshopTally.design_id, WorkshopTally.age_band))
    counted = union_all(online, paper).subquery()
    found: dict[int, Result] = {}
    for design_id, title, band, n in db.session.execute(
            select(Design.id, Design.title, counted.c.band, counted.c.n)
            .outerjoin(counted, counted.c.design_id == Design.id)
            .where(Design.call_id == call.id, Design.status == "approved")):
        result = found.setdefault(design_id, Result(design_id, title))
        if band is not None:
            result.total += int(n)
            result.by_band[band] = result.by_band.get(band, 0) + int(n)
    return sorted(found.values(), key=lambda r: (-r.total, r.id))


def promote(planner: User, design: Design, url: str) -> Proposal:
    """Make a proposal of an approved design, credited to the community's children and linked
    back to the gallery. Promoting twice gives the one proposal."""
    if design.status != "approved":
        raise OperationError(_("Only designs shown in the gallery become proposals."))
    design = db.session.get(Design, design.id, with_for_update=True, populate_existing=True)
    if design is None:
        raise OperationError(_("This design has been deleted: its guardian withdrew it."))
    if design.proposal_id is not None:
        existing = db.session.get(Proposal, design.proposal_id)
        if existing is not None:
            return existing
    call = design.call
    community = db.session.get(Community, call.community_id)
    text = design.want or ""
    proposal = Proposal(
        consultation_id=call.consultation_id, community_id=call.community_id, author_id=None,
        credit=CHILDREN_CREDIT,
        title=design.title[:120],
        description=(text + "\n\n" if text else "") + _(
            "From the children's design call “%(call)s”: [see the drawing](%(url)s).",
            call=call.title, url=url),
        # The inventory's site, when there is one, is linked beside.
        category="other", site=call.title[:200],
        site_id=call.site_id, status="evaluating", submitted_at=utcnow())
    db.session.add(proposal)
    db.session.flush()
    design.proposal_id = proposal.id
    record("design.promote", actor=planner, community=community,
           target=f"proposal:{proposal.id}")
    return proposal


# --- what withdrawal deletes (registered as child data) -------------------------------------


def count_designs(child_ids: list[int]) -> int:
    return db.session.scalar(select(func.count()).select_from(Design).where(
        Design.child_id.in_(child_ids)))


def count_stickers(child_ids: list[int]) -> int:
    return db.session.scalar(select(func.count()).select_from(Sticker).where(
        Sticker.child_id.in_(child_ids)))


def erase_designs(child_ids: list[int]) -> None:
    """The children's designs, their files (once the deletion commits), the stickers on them
    and the plan sources made of them."""
    _erase(Design.child_id.in_(child_ids))


def remove_design(guardian: User, design: Design) -> None:
    """A guardian deletes one of their child's designs, with its file and stickers."""
    _erase(Design.id == design.id)
    record("design.remove", actor=guardian, community=db.session.get(
        Community, design.call.community_id), target=f"design_call:{design.call_id}")


def _erase(which) -> None:
    rows = db.session.execute(select(Design.id, Design.filename, Design.thumbnail,
                                     Design.proposal_id, DesignCall.title)
                              .join(DesignCall, DesignCall.id == Design.call_id)
                              .where(which)).all()
    if not rows:
        return
    ids = [r.id for r in rows]
    # A proposal made of a design stays the community's, but keeps nothing the child wrote
    # and no link to the drawing.
    for r in rows:
        if r.proposal_id is not None:
            db.session.execute(update(Proposal).where(Proposal.id == r.proposal_id).values(
                description=_("From the children's design call “%(call)s”; the drawing has "
                              "been withdrawn.", call=r.title)))
    delete_after_commit(FOLDER, [name for r in rows for name in (r.filename, r.thumbnail)])
    sources = (ProjectSource.kind == "children") & ProjectSource.ref.in_([str(i) for i in ids])
    touched = db.session.execute(select(ProjectSource.plan_id, ProjectSource.project_id)
                                 .where(sources)).all()
    db.session.execute(delete(ProjectSource).where(sources))
    for plan_id in {plan_id for plan_id, _project in touched}:
        plan_ops.rescore(db.session.get(Plan, plan_id),
                         [project for plan, project in touched if plan == plan_id])
    db.session.execute(delete(Sticker).where(Sticker.design_id.in_(ids)))
    db.session.execute(delete(WorkshopTally).where(WorkshopTally.design_id.in_(ids)))
    db.session.execute(delete(Design).where(Design.id.in_(ids)))


def erase_stickers(child_ids: list[int]) -> None:
    db.session.execute(delete(Sticker).where(Sticker.child_id.in_(child_ids)))


def stored_files() -> set[str]:
    names = set()
    for full, thumb in db.session.execute(select(Design.filename, Design.thumbnail)):
        names.update((full, thumb))
    return names


# --- the plan's "children's favourites" source ----------------------------------------------


def _source_items(community, ids: list[int] | None, query: str = "") -> list[SourceItem]:
    tally = (select(WorkshopTally.design_id, func.sum(WorkshopTally.stickers).label("n"))
             .group_by(WorkshopTally.design_id).subquery())
    online = (select(Sticker.design_id, func.count().label("n"))
              .group_by(Sticker.design_id).subquery())
    total = (func.coalesce(online.c.n, 0) + func.coalesce(tally.c.n, 0)).label("total")
    stmt = (select(Design, DesignCall, total)
            .join(DesignCall, DesignCall.id == Design.call_id)
            .outerjoin(online, online.c.design_id == Design.id)
            .outerjoin(tally, tally.c.design_id == Design.id)
            .where(DesignCall.community_id == community.id, Design.status == "approved"))
    if ids is not None:
        stmt = stmt.where(Design.id.in_(ids))
    if query.strip():
        stmt = stmt.where(Design.title.icontains(query.strip(), autoescape=True))
    stmt = stmt.order_by(total.desc(), Design.id.desc()).limit(20 if ids is None else None)
    items = []
    for design, call, n in db.session.execute(stmt):
        # The plan names the design, never the child.
        items.append(SourceItem(
            str(design.id), _("Children's design: %(title)s", title=design.title),
            Decimal(int(n)), ngettext("%(num)d sticker", "%(num)d stickers", int(n)),
            url_for("designs.call", community_id=community.id, call_id=call.id,
                    _anchor=f"design-{design.id}"),
            site_id=call.site_id))
    return items


def plan_candidates(community, query: str) -> list[SourceItem]:
    return _source_items(community, None, query)


def plan_load(community, refs: list[str]) -> dict:
    from participation.web import parse_ids

    ids = parse_ids(refs)
    return {item.ref: item for item in _source_items(community, ids)} if ids else {}
