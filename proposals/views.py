"""Pages of the proposals area: lists, drafting and submitting, supporting, the planner's review."""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, g, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import BigInteger, bindparam, cast, func, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import SelectChoice

from participation.communities.models import Community
from participation import search
from participation.consultations import closed_because
from participation.consultations.models import Consultation
from participation.errors import OperationError
from participation.extensions import db, htmx
from participation.forms import EmptyForm
from participation.i18n import select_locale
from participation.meetings.models import AgendaItem, Meeting
from participation.pagecache import not_shared, public_page, shared_part
from participation.plan.models import Site
from participation.policy import can, membership_of, require
from participation.standards import checklist, item_names
from participation.uploads import ImageRejected, is_uploaded, save_image, send_image
from participation.web import (
    form_status,
    paginate_keys,
    parse_id,
    parse_ids,
    render,
    see_other,
)

from . import operations as ops
from .forms import MergeForm, ProposalForm, ReviewForm
from .models import CHILDREN_CREDIT, STATUSES, AgendaProposal, Proposal, ProposalPhoto, Support

bp = Blueprint("proposals", __name__)


def _community(community_id: int) -> Community:
    return db.get_or_404(Community, community_id)


def _proposal(community: Community, proposal_id: int) -> Proposal:
    proposal = db.session.execute(
        select(Proposal).where(Proposal.id == proposal_id)
        .options(joinedload(Proposal.consultation).joinedload(Consultation.phases),
                 joinedload(Proposal.author), selectinload(Proposal.photos),
                 joinedload(Proposal.merged_into), joinedload(Proposal.inventory_site))
    ).unique().scalar_one_or_none()
    if proposal is None or proposal.consultation.community_id != community.id:
        abort(404)
    # A draft is its author's alone (an author gone leaves it nobody's).
    if proposal.status == "draft" and not (current_user.is_authenticated
                                           and proposal.author_id == current_user.id):
        abort(404)
    return proposal


def proposal_url(proposal: Proposal) -> str:
    return url_for("proposals.show", community_id=proposal.consultation.community_id,
                   proposal_id=proposal.id)


def category_choices(locale: str) -> list[SelectChoice]:
    categories, items = checklist()
    names = {c.id: c.name(locale) for c in categories}
    return [SelectChoice("", _("Choose a category"))] + [
        SelectChoice(i.id, i.name(locale), optgroup=names[i.category]) for i in items] + [
        SelectChoice("other", _("Other"))]


def site_choices(community: Community) -> list[SelectChoice]:
    return [SelectChoice("", _("None chosen"))] + [
        SelectChoice(str(i), name) for i, name in db.session.execute(
            select(Site.id, Site.name).where(Site.community_id == community.id)
            .order_by(Site.name))]


def category_label(category: str) -> str:
    labels = g.get("linli_category_labels")
    if labels is None:  # once per request: a list shows fifty of them
        locale = select_locale()
        labels = g.linli_category_labels = {i: item.name(locale)
                                            for i, item in item_names().items()}
    return labels.get(category) or _("Other")


def status_label(status: str) -> str:
    labels = g.get("linli_status_labels")
    if labels is None:
        labels = g.linli_status_labels = {
            "draft": _("Draft"), "evaluating": _("Being evaluated"),
            "accepted": _("Shortlisted"), "rejected": _("Not taken up"), "merged": _("Merged")}
    return labels.get(status, status)


SORTS = ("new", "supported", "random")
# What every view of the list asks besides its cards, built once.
CONSULTATIONS = (select(Consultation)
                 .where(Consultation.community_id == bindparam("community_id"))
                 .options(joinedload(Consultation.phases))
                 .order_by(Consultation.created_at.desc()))
DRAFTS = select(Proposal).where(Proposal.community_id == bindparam("community_id"),
                                Proposal.status == "draft",
                                Proposal.author_id == bindparam("user_id"))


@bp.get("/c/<int:community_id>/proposals")
@public_page
def index(community_id: int):
    community = _community(community_id)
    require("proposals.view", community)
    category = request.args.get("category", "")
    status = request.args.get("status", "")
    site = request.args.get("site", "").strip()
    sort = request.args.get("sort", "new")
    if sort == "random":
        not_shared()
        # Seeded per visitor, so paging through a shuffled list never repeats or skips one.
        seed = session.setdefault("proposal_seed", secrets.randbelow(2_147_483_000) + 1)
    filters = {"category": category, "status": status, "site": site, "sort": sort}

    def cards_html() -> str:
        # Built only when the cards are not kept (see shared_part below).
        # With a search, the rows the full-text index finds are the few to look at, not the
        # community's every row: "+ 0" keeps SQLite from starting with the community's index.
        in_community = (Proposal.community_id + 0 if site else Proposal.community_id) \
            == community.id
        keys = select(Proposal.id).where(in_community, Proposal.status != "draft")
        if category:
            keys = keys.where(Proposal.category == category)
        if status in STATUSES:
            keys = keys.where(Proposal.status == status)
        if site:
            keys = keys.where(
                search.matches(db.engine.dialect.name, Proposal.id, Proposal.search_terms,
                               "proposal_fts", site),
                Proposal.site.icontains(site, autoescape=True))
        if sort == "supported":
            order = [(Proposal.support_count, True), (Proposal.id, True)]
        elif sort == "random":
            # 64-bit arithmetic: id × seed overflows PostgreSQL's integer past a few proposals.
            order = [((cast(Proposal.id, BigInteger) * seed) % 2_147_483_647, False),
                     (Proposal.id, False)]
        else:
            order = [(Proposal.submitted_at, True), (Proposal.id, True)]
        first_photo = (select(func.min(ProposalPhoto.id))
                       .where(ProposalPhoto.proposal_id == Proposal.id)
                       .correlate(Proposal).scalar_subquery())

        def load(ids):
            return {p.id: (p, photo) for p, photo in db.session.execute(
                select(Proposal, first_photo).where(Proposal.id.in_(ids))
                .options(joinedload(Proposal.author)))}

        return render_template("proposals/_cards.html", community=community,
                               page=paginate_keys(keys, order, load), filters=filters)

    # The cards are the same for every reader: kept once per generation (see shared_part).
    cards = shared_part("proposal-cards", cards_html)
    consultations = db.session.scalars(CONSULTATIONS, {"community_id": community.id}
                                       ).unique().all()
    user = current_user._get_current_object()
    drafts = db.session.scalars(DRAFTS, {"community_id": community.id, "user_id": user.id}
                                ).all() if user.is_authenticated else []
    filter_form = shared_part("proposal-filters", lambda: render_template(
        "proposals/_filters.html", categories=category_choices(select_locale()),
        statuses=STATUSES[1:], filters=filters))
    return render("proposals/index.html", community=community, cards=cards,
                  filter_form=filter_form, membership=membership_of(current_user, community),
                  consultations=consultations, drafts=drafts)


def _uploaded_photos(form: ProposalForm) -> list[tuple[str, str]]:
    return [save_image(f.stream, "proposals", thumbnail=True)
            for f in form.photos.data or [] if is_uploaded(f)]


def _save(community, consultation, proposal, form):
    submit = request.form.get("action") == "submit"
    remove = parse_ids(request.form.getlist("remove_photo"))
    try:
        photos = _uploaded_photos(form)
        saved = ops.save_proposal(
            current_user, consultation, proposal, title=form.title.data,
            description=form.description.data or "", category=form.category.data,
            site=form.site.data, estimated_cost=form.estimated_cost.data, photos=photos,
            remove_photos=remove, submit=submit, site_id=parse_id(form.site_id.data))
    except (OperationError, ImageRejected) as error:
        db.session.rollback()
        form.photos.errors = [*form.photos.errors, str(error)]
        return None
    flash(_("Your proposal is submitted. The responsible planner will answer it.") if submit
          else _("Draft saved. Only you can see it."), "success")
    return see_other(proposal_url(saved))


@bp.route("/c/<int:community_id>/consultations/<int:consultation_id>/proposals/new",
          methods=["GET", "POST"])
def new(community_id: int, consultation_id: int):
    community = _community(community_id)
    consultation = db.get_or_404(Consultation, consultation_id)
    if consultation.community_id != community.id:
        abort(404)
    require("proposal.submit", community, consultation,
            why=lambda: membership_of(current_user, community) and closed_because(
                consultation, "proposal.submit"))
    form = ProposalForm()
    form.category.choices = category_choices(select_locale())
    form.site_id.choices = site_choices(community)
    if form.validate_on_submit() and (done := _save(community, consultation, None, form)):
        return done
    return render("proposals/form.html", community=community, consultation=consultation,
                  form=form, proposal=None, status=form_status(form))


@bp.route("/c/<int:community_id>/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
def edit(community_id: int, proposal_id: int):
    community = _community(community_id)
    require("proposals.view", community)
    proposal = _proposal(community, proposal_id)
    require("proposal.edit", community, proposal)
    form = ProposalForm(obj=proposal)
    form.category.choices = category_choices(select_locale())
    form.site_id.choices = site_choices(community)
    if form.validate_on_submit() and (done := _save(community, proposal.consultation, proposal,
                                                   form)):
        return done
    return render("proposals/form.html", community=community,
                  consultation=proposal.consultation, form=form, proposal=proposal,
                  status=form_status(form))


@bp.get("/c/<int:community_id>/proposals/<int:proposal_id>")
@public_page
def show(community_id: int, proposal_id: int):
    community = _community(community_id)
    require("proposals.view", community)
    proposal = _proposal(community, proposal_id)
    supported = current_user.is_authenticated and db.session.scalar(select(Support.user_id).where(
        Support.proposal_id == proposal.id, Support.user_id == current_user.id)) is not None
    review = ReviewForm(formdata=None, status=proposal.status, reason=proposal.reason)
    review.status.choices = [SelectChoice(s, status_label(s)) for s in ops.ANSWERS]
    merge_q = request.args.get("merge_q", "").strip()
    merge = _merge_form(proposal, merge_q) if can("proposal.review", community, proposal) \
        else None
    # The published meeting records whose agenda decided on this proposal.
    meetings = db.session.execute(
        select(Meeting.id, Meeting.title, Meeting.held_at, AgendaItem.decision)
        .join(AgendaItem, AgendaItem.meeting_id == Meeting.id)
        .join(AgendaProposal, AgendaProposal.agenda_item_id == AgendaItem.id)
        .where(AgendaProposal.proposal_id == proposal.id, Meeting.published_at.is_not(None))
        .order_by(Meeting.held_at)).all()
    return render("proposals/show.html", community=community, proposal=proposal,
                  supports=proposal.support_count, supported=supported, review=review,
                  merge=merge, merge_q=merge_q,
                  membership=membership_of(current_user, community), meetings=meetings)


MERGE_CANDIDATES = 20


def _merge_form(proposal: Proposal, query: str) -> MergeForm:
    """The merge form, offering the proposals that the planner's search finds: none before a
    search, at most MERGE_CANDIDATES after one (the newest), whatever the consultation's
    size."""
    form = MergeForm(formdata=None)
    if not query:
        return form
    found = select(Proposal).where(
        Proposal.consultation_id == proposal.consultation_id, Proposal.id != proposal.id,
        Proposal.status.in_(["evaluating", "accepted"])).limit(MERGE_CANDIDATES)
    number = query.removeprefix("#")
    if (target_id := parse_id(number)) is not None:
        found = found.where(Proposal.id == target_id)
    else:
        found = search.newest_matching(
            db.engine.dialect.name, found, Proposal.id, Proposal.search_terms, "proposal_fts",
            query).where(
            Proposal.title.icontains(query, autoescape=True)
            | Proposal.site.icontains(query, autoescape=True)
            | Proposal.description.icontains(query, autoescape=True))
    form.target_id.choices = [
        SelectChoice(str(p.id), _("%(title)s (%(site)s, %(supports)s)", title=p.title,
                                  site=p.site, supports=ngettext(
                                      "%(num)d support", "%(num)d supports", p.support_count)))
        for p in db.session.scalars(found)]
    return form


@bp.get("/c/<int:community_id>/proposals/<int:proposal_id>/merge")
def merge_candidates(community_id: int, proposal_id: int):
    """The proposals to merge into that match the planner's search: the form's fragment for
    htmx, the proposal page with the results without JavaScript."""
    community = _community(community_id)
    proposal = _proposal(community, proposal_id)
    require("proposal.review", community, proposal)
    merge_q = request.args.get("merge_q", "").strip()
    if not htmx:
        return see_other(url_for("proposals.show", community_id=community.id,
                                 proposal_id=proposal.id, merge_q=merge_q or None,
                                 _anchor="merge"))
    return render("proposals/_merge.html", community=community, proposal=proposal,
                  merge=_merge_form(proposal, merge_q), merge_q=merge_q, announce=True)


@bp.post("/c/<int:community_id>/proposals/<int:proposal_id>/support")
def support(community_id: int, proposal_id: int):
    return _set_support(community_id, proposal_id, True)


@bp.post("/c/<int:community_id>/proposals/<int:proposal_id>/support/withdraw")
def withdraw_support(community_id: int, proposal_id: int):
    return _set_support(community_id, proposal_id, False)


def _set_support(community_id: int, proposal_id: int, wanted: bool):
    """Support, or take a support back, while the phase allows. Two routes, not a toggle: a
    double click leaves the state the resident asked for."""
    community = _community(community_id)
    require("proposals.view", community)
    proposal = _proposal(community, proposal_id)
    require("proposal.support", community, proposal)
    if EmptyForm().validate_on_submit():
        if wanted:
            ops.support(current_user, proposal)
        else:
            ops.withdraw_support(current_user, proposal)
    if htmx:
        supports = db.session.scalar(select(Proposal.support_count)
                                     .where(Proposal.id == proposal.id))
        return render("proposals/_support.html", community=community, proposal=proposal,
                      supports=supports, supported=wanted, announce=True)
    if not wanted:
        flash(_("Your support is withdrawn."), "success")
    return see_other(proposal_url(proposal))


@bp.post("/c/<int:community_id>/proposals/<int:proposal_id>/review")
def review(community_id: int, proposal_id: int):
    community = _community(community_id)
    proposal = _proposal(community, proposal_id)
    require("proposal.review", community, proposal)
    form = ReviewForm()
    form.status.choices = [SelectChoice(s) for s in ops.ANSWERS]
    if form.validate_on_submit():
        try:
            ops.review(current_user, proposal, form.status.data, form.reason.data,
                       proposal_url(proposal))
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            flash(_("Your answer is published and the author is told."), "success")
    return see_other(proposal_url(proposal))


@bp.post("/c/<int:community_id>/proposals/<int:proposal_id>/merge")
def merge(community_id: int, proposal_id: int):
    community = _community(community_id)
    proposal = _proposal(community, proposal_id)
    require("proposal.review", community, proposal)
    form = MergeForm()
    target_id = parse_id(form.target_id.data)
    if not form.validate_on_submit() or not target_id:
        flash(_("Choose the proposal to merge into and tick the box to confirm."), "error")
    else:
        target = _proposal(community, target_id)
        try:
            moved = ops.merge(current_user, proposal, target, proposal_url(proposal))
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            flash(_("Merged; %(n)d supports moved over.", n=moved), "success")
            return see_other(proposal_url(target))
    return see_other(proposal_url(proposal))


@bp.get("/c/<int:community_id>/proposals/<int:proposal_id>/photos/<int:photo_id>/"
        "<any(full, thumb):size>")
def photo(community_id: int, proposal_id: int, photo_id: int, size: str):
    community = _community(community_id)
    require("proposals.view", community)
    proposal = _proposal(community, proposal_id)
    found = next((p for p in proposal.photos if p.id == photo_id), None)
    if found is None:
        abort(404)
    return send_image("proposals", found.thumbnail if size == "thumb" else found.filename)


def proposed_by(proposal: Proposal, community: Community) -> str:
    """Who a proposal is by: its author, the community's children (made of their design), or a
    member who has since left."""
    if proposal.author is not None:
        return proposal.author.display_name
    if proposal.credit == CHILDREN_CREDIT:
        return _("the children of %(community)s", community=community.name)
    return _("former member")


def can_propose(community, consultation) -> bool:
    return can("proposal.submit", community, consultation)


# Functions every template may call: globals, not a context processor run at every render.
bp.add_app_template_global(status_label, "proposal_status_label")
bp.add_app_template_global(category_label, "proposal_category_label")
bp.add_app_template_global(proposed_by)
bp.add_app_template_global(can_propose)
