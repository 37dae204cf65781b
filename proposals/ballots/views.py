"""Pages of ballots: the planner's rules, voting, paper ballots entered by the committee, results."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, g, request, url_for
from flask_babel import format_date, format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import SelectChoice

from participation import clock
from participation.communities.models import Community
from participation.communities.operations import find_household
from participation.consultations.models import Consultation, Phase
from participation.database import begin_writes, reads_first
from participation.errors import OperationError
from participation.extensions import db
from participation.forms import EmptyForm
from participation.i18n import format_moment
from participation.policy import can, membership_of, require
from participation.web import paginate, parse_ids, render, see_other
from proposals.models import Proposal

from . import operations as ops
from .forms import BallotForm, PaperBatchForm, PaperEntryForm, RegisterAddForm
from .models import (
    Ballot,
    BallotMark,
    BallotOption,
    BallotPaper,
    BallotVoter,
    PaperBatch,
    RegisterEntry,
)
from .results import tally

bp = Blueprint("ballots", __name__)


# The ballot with its consultation and phase, and, for its pages, its options with their
# proposals (a vote checks only the options' ids, read afresh as it is cast). Built once.
BALLOT = select(Ballot).where(Ballot.id == bindparam("ballot_id")).options(
    joinedload(Ballot.consultation), joinedload(Ballot.phase))
BALLOT_WITH_OPTIONS = BALLOT.options(
    selectinload(Ballot.options).joinedload(BallotOption.proposal))


def _ballot(community: Community, ballot_id: int, options: bool = True) -> Ballot:
    ballot = db.session.scalar(BALLOT_WITH_OPTIONS if options else BALLOT,
                               {"ballot_id": ballot_id})
    if ballot is None or ballot.consultation.community_id != community.id:
        abort(404)
    return ballot


def ballot_url(ballot: Ballot, endpoint: str = "ballots.ballot", **values) -> str:
    return url_for(endpoint, community_id=ballot.consultation.community_id, ballot_id=ballot.id,
                   **values)


def _shortlist(consultation: Consultation) -> list[Proposal]:
    return list(db.session.scalars(
        select(Proposal).where(Proposal.consultation_id == consultation.id,
                               Proposal.status == "accepted").order_by(Proposal.title)))


def _rules_from(form: BallotForm, shortlist: list[Proposal]) -> tuple[ops.BallotRules | None,
                                                                          str | None]:
    chosen = set(parse_ids(request.form.getlist("option")))
    options = []
    for proposal in shortlist:
        if proposal.id not in chosen:
            continue
        raw = request.form.get(f"cost-{proposal.id}", "").strip().replace(",", "")
        try:
            cost = Decimal(raw).quantize(Decimal("0.01")) if raw else None
            if cost is not None and not (Decimal("0.01") <= cost < 100_000_000):
                raise InvalidOperation
        except InvalidOperation:  # also NaN, Infinity and what does not fit in yuan and fen
            return None, _("Enter each cost as an amount in yuan, above 0.")
        options.append((proposal.id, cost))
    return ops.BallotRules(
        title=form.title.data, phase_id=form.phase_id.data or 0, method=form.method.data,
        eligibility=form.eligibility.data, secrecy=form.secrecy.data, preset=form.preset.data,
        options=options, max_choices=form.max_choices.data, budget=form.budget.data,
        quorum_pct=form.quorum_pct.data, threshold_pct=form.threshold_pct.data,
        results_live=form.results_live.data), None


def _ballot_form(community: Community, consultation: Consultation, ballot: Ballot | None):
    form = BallotForm(obj=ballot)
    form.phase_id.choices = [SelectChoice(p.id, _("Vote phase, %(start)s – %(end)s",
                                      start=format_date(p.starts_at), end=format_date(p.ends_at)))
                             for p in consultation.phases if p.kind == "vote"]
    shortlist = _shortlist(consultation)
    if request.method == "POST":  # what was typed, as typed
        selected = set(parse_ids(request.form.getlist("option")))
        costs = {p.id: request.form.get(f"cost-{p.id}", "") for p in shortlist}
    else:  # the saved ballot, or all the shortlist; costs default to the authors' estimates
        saved = {o.proposal_id: o.cost for o in ballot.options} if ballot else {}
        selected = set(saved) if ballot else {p.id for p in shortlist}
        costs = {p.id: saved.get(p.id) or p.estimated_cost for p in shortlist}
    option_error = None
    if form.validate_on_submit():
        rules, option_error = _rules_from(form, shortlist)
        if rules is not None:
            problems = ops.ballot_problems(consultation, rules, ballot.id if ballot else None)
            for name, message in problems.items():
                if name == "options":
                    option_error = message
                else:
                    getattr(form, name).errors = [*getattr(form, name).errors, message]
            if not problems:
                try:
                    saved = ops.save_ballot(current_user, consultation, ballot, rules)
                except OperationError as error:
                    db.session.rollback()
                    flash(str(error), "error")
                else:
                    flash(_("The ballot is saved. Its rules lock when the first vote is cast."),
                          "success")
                    return see_other(ballot_url(saved))
    return render("ballots/ballot_form.html", community=community, consultation=consultation,
                  ballot=ballot, form=form, shortlist=shortlist, selected=selected, costs=costs,
                  option_error=option_error)


@bp.route("/c/<int:community_id>/consultations/<int:consultation_id>/ballots/new",
          methods=["GET", "POST"])
def new(community_id: int, consultation_id: int):
    community = db.get_or_404(Community, community_id)
    require("ballot.manage", community)
    consultation = db.session.scalar(
        select(Consultation).where(Consultation.id == consultation_id)
        .options(selectinload(Consultation.phases)))
    if consultation is None or consultation.community_id != community.id:
        abort(404)
    return _ballot_form(community, consultation, None)


@bp.route("/c/<int:community_id>/ballots/<int:ballot_id>/edit", methods=["GET", "POST"])
def edit(community_id: int, ballot_id: int):
    community = db.get_or_404(Community, community_id)
    require("ballot.manage", community)
    ballot = _ballot(community, ballot_id)
    if ops.has_votes(ballot):
        flash(_("Voting has begun: the rules of this ballot can no longer change."), "error")
        return see_other(ballot_url(ballot))
    return _ballot_form(community, ballot.consultation, ballot)


def _my_marks(ballot: Ballot, membership) -> tuple[BallotVoter | None, set[int]]:
    """The current user's (or household's) voter row, and on an open ballot what they marked."""
    if membership is None:
        return None, set()
    key = ops.voter_key(ballot, current_user.id, membership.household_id)
    voter = db.session.scalar(select(BallotVoter).where(BallotVoter.ballot_id == ballot.id,
                                                        BallotVoter.voter_key == key))
    if voter is None or ballot.secret:
        return voter, set()
    return voter, set(db.session.scalars(
        select(BallotMark.option_id).join(BallotPaper, BallotPaper.id == BallotMark.paper_id)
        .where(BallotPaper.voter_id == voter.id)))


def _ballot_page(community: Community, ballot: Ballot, marked: set[int] | None = None,
                 error: str | None = None, status: int = 200):
    membership = membership_of(current_user, community)
    voter, mine = _my_marks(ballot, membership)
    # An open ballot's voter who chose "none of these" sees it ticked, like any choice.
    none = bool(request.form.get("none")) if marked is not None else (
        voter is not None and not ballot.secret and not mine)
    return render("ballots/ballot.html", community=community, ballot=ballot,
                  membership=membership, voter=voter, locked=ops.has_votes(ballot), none_ticked=none,
                  marked=mine if marked is None else marked, error=error, status=status,
                  now=clock.now(), form=EmptyForm())


@bp.get("/c/<int:community_id>/ballots/<int:ballot_id>")
def ballot(community_id: int, ballot_id: int):
    community = db.get_or_404(Community, community_id)
    require("proposals.view", community)
    return _ballot_page(community, _ballot(community, ballot_id))


@bp.post("/c/<int:community_id>/ballots/<int:ballot_id>/vote")
@reads_first
def vote(community_id: int, ballot_id: int):
    community = db.get_or_404(Community, community_id)
    require("proposals.view", community)
    ballot = _ballot(community, ballot_id, options=False)
    require("ballot.vote", community, ballot)
    marked = parse_ids(request.form.getlist("option"))
    # The form's token was checked for every POST already (CSRFProtect); the form is built
    # only where that check is switched off.
    if not (g.get("csrf_valid") or EmptyForm().validate_on_submit()):
        return _ballot_page(community, _ballot(community, ballot_id), set(marked),
                            _("The form expired; please choose again and resubmit."), 400)
    begin_writes()
    try:
        done = ops.cast(current_user, membership_of(current_user, community), ballot, marked,
                        none=bool(request.form.get("none")))
    except OperationError as error:
        db.session.rollback()
        return _ballot_page(community, _ballot(community, ballot_id), set(marked), str(error),
                            422)
    flash(_("Your vote is counted.") if done == "cast" else _("Your vote is changed."),
          "success")
    return see_other(url_for("ballots.ballot", community_id=community.id, ballot_id=ballot_id))


@bp.get("/c/<int:community_id>/ballots/<int:ballot_id>/results")
def results(community_id: int, ballot_id: int):
    community = db.get_or_404(Community, community_id)
    require("proposals.view", community)
    ballot = _ballot(community, ballot_id)
    if not can("ballot.results", community, ballot) and can("proposals.view", community):
        opens = ballot.phase.starts_at if ballot.results_live and not ballot.secret \
            else ops.results_from(ballot)
        flash(_("The results are published on %(date)s.",
                date=format_moment(opens)), "info")
        return see_other(ballot_url(ballot))
    require("ballot.results", community, ballot)
    now, paper_until = clock.now(), ops.paper_until(ballot)
    final = now >= paper_until
    return render("ballots/results.html", community=community, ballot=ballot,
                  results=tally(ballot, final_since=paper_until if final else None),
                  ended=now >= ballot.phase.ends_at,
                  paper_open=now < paper_until, paper_until=paper_until)


@bp.route("/c/<int:community_id>/ballots/<int:ballot_id>/paper", methods=["GET", "POST"])
def paper(community_id: int, ballot_id: int):
    community = db.get_or_404(Community, community_id)
    require("ballot.paper_view", community)
    ballot = _ballot(community, ballot_id)
    form = PaperBatchForm()
    if request.method == "POST":
        require("ballot.paper", community, ballot)
        if form.validate_on_submit():
            try:
                batch = ops.add_paper_batch(current_user, ballot, form.collected_by.data,
                                            form.collected_on.data)
            except OperationError as error:
                db.session.rollback()
                form.collected_on.errors = [str(error)]
            else:
                flash(_("Batch started: enter its ballots one by one."), "success")
                return see_other(ballot_url(ballot, "ballots.paper_batch",
                                            batch_id=batch.id))
    return _paper_page(community, ballot, form, RegisterAddForm(formdata=None))


def _typed_household(community: Community, form):
    """The household a form's address names; None, with the error at the room, if none."""
    household = find_household(community, form.building.data, form.unit.data, form.room.data)
    if household is None:
        form.room.errors = [_("There is no such household in the roster.")]
    return household


def _paper_page(community, ballot, form, register_form):
    """The committee's paper page: batches, and voters added to the register late."""
    entered = (select(func.count(BallotVoter.id)).where(BallotVoter.batch_id == PaperBatch.id)
               .correlate(PaperBatch).scalar_subquery())
    batches = db.session.execute(
        select(PaperBatch, entered).where(PaperBatch.ballot_id == ballot.id)
        .options(joinedload(PaperBatch.entered_by)).order_by(PaperBatch.id.desc())).all()
    late = db.session.scalars(
        select(RegisterEntry).where(RegisterEntry.ballot_id == ballot.id,
                                    RegisterEntry.added_late_by_id.is_not(None))
        .options(joinedload(RegisterEntry.household)).order_by(RegisterEntry.id)).all()
    return render("ballots/paper.html", community=community, ballot=ballot, form=form,
                  register_form=register_form, batches=batches, late=late,
                  open=can("ballot.paper", community, ballot),
                  status=422 if form.errors or register_form.errors else 200,
                  paper_until=ops.paper_until(ballot))


@bp.post("/c/<int:community_id>/ballots/<int:ballot_id>/register")
def add_to_register(community_id: int, ballot_id: int):
    """The committee adds a resident verified (or a household entered) after voting opened."""
    community = db.get_or_404(Community, community_id)
    ballot = _ballot(community, ballot_id)
    require("ballot.paper", community, ballot)
    form = RegisterAddForm()
    if form.validate_on_submit():
        household = _typed_household(community, form)
        if household is not None:
            try:
                ops.add_to_register(current_user, ballot, household, form.login.data)
            except OperationError as error:
                db.session.rollback()
                form.room.errors = [str(error)]
            else:
                flash(_("%(address)s is added to the register of voters.",
                        address=household.address), "success")
                return see_other(ballot_url(ballot, "ballots.paper"))
    return _paper_page(community, ballot, PaperBatchForm(formdata=None), form)


@bp.route("/c/<int:community_id>/ballots/<int:ballot_id>/paper/<int:batch_id>",
          methods=["GET", "POST"])
def paper_batch(community_id: int, ballot_id: int, batch_id: int):
    community = db.get_or_404(Community, community_id)
    require("ballot.paper_view", community)
    ballot = _ballot(community, ballot_id)
    batch = db.get_or_404(PaperBatch, batch_id)
    if batch.ballot_id != ballot.id:
        abort(404)
    form = PaperEntryForm()
    marked = set(parse_ids(request.form.getlist("option")))
    error = None
    if request.method == "POST":
        require("ballot.paper", community, ballot)
        if form.validate_on_submit():
            household = _typed_household(community, form)
            if household is not None:
                try:
                    ops.enter_paper(current_user, ballot, batch, household, form.login.data,
                                    list(marked), none=bool(request.form.get("none")))
                except OperationError as exc:
                    db.session.rollback()
                    error = str(exc)
                else:
                    flash(_("Paper ballot of %(address)s counted.", address=household.address),
                          "success")
                    return see_other(ballot_url(ballot, "ballots.paper_batch",
                                                batch_id=batch.id))
    page = paginate(select(BallotVoter).where(BallotVoter.batch_id == batch.id)
                    .options(joinedload(BallotVoter.household))
                    .order_by(BallotVoter.id.desc()))
    # What each entry marked, so the clerk can check it against the paper (open ballots only).
    marks: dict[int, list[str]] = {}
    if not ballot.secret and page.items:
        titles = {o.id: o.proposal.title for o in ballot.options}
        for voter_id, option_id in db.session.execute(
                select(BallotPaper.voter_id, BallotMark.option_id)
                .join(BallotMark, BallotMark.paper_id == BallotPaper.id)
                .where(BallotPaper.voter_id.in_([v.id for v in page.items]))):
            marks.setdefault(voter_id, []).append(titles[option_id])
    return render("ballots/paper_batch.html", community=community, ballot=ballot, batch=batch,
                  form=form, marked=marked, error=error, page=page, marks=marks,
                  none_ticked=bool(request.form.get("none")), paper_until=ops.paper_until(ballot),
                  status=422 if error or form.errors else 200,
                  open=can("ballot.paper", community, ballot))


@bp.post("/c/<int:community_id>/ballots/<int:ballot_id>/paper/<int:batch_id>/"
         "<int:voter_id>/remove")
def remove_paper_entry(community_id: int, ballot_id: int, batch_id: int, voter_id: int):
    community = db.get_or_404(Community, community_id)
    require("ballot.paper_view", community)
    ballot = _ballot(community, ballot_id)
    require("ballot.paper", community, ballot)
    voter = db.get_or_404(BallotVoter, voter_id)
    if voter.batch_id != batch_id or voter.ballot_id != ballot.id:
        abort(404)
    back = ballot_url(ballot, "ballots.paper_batch", batch_id=batch_id)
    if not EmptyForm().validate_on_submit() or not request.form.get("confirm"):
        flash(_("Tick the box to confirm that the paper says otherwise."), "error")
        return see_other(back)
    try:
        ops.remove_paper_entry(current_user, ballot, voter)
    except OperationError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(_("The entry is taken back; enter the paper again as it reads."), "success")
    return see_other(back)


def ballots_of(consultation: Consultation) -> list[Ballot]:
    return list(db.session.scalars(
        select(Ballot).join(Ballot.phase).where(Ballot.consultation_id == consultation.id)
        .options(joinedload(Ballot.phase), joinedload(Ballot.consultation))
        .order_by(Phase.starts_at)))


def describe(ballot: Ballot) -> list[tuple[str, str]]:
    """The rules in words, for the ballot and results pages."""
    form = BallotForm(formdata=None, obj=ballot)
    labels = {name: {c.value: c.label for c in getattr(form, name).choices}
              for name in ("method", "eligibility", "secrecy", "preset")}
    # Voters read what they are asked to do, not the planner's menu of methods.
    if ballot.method == "single":
        how = _("Choose one proposal")
    elif ballot.method == "approval":
        how = ngettext("Choose one proposal at most", "Choose up to %(num)d proposals",
                       ballot.max_choices or 1)
    else:
        how = _("Choose proposals whose costs together stay within the budget")
    rules = [(_("How people vote"), how)]
    if ballot.budget:
        rules.append((_("Budget"), _("%(amount)s yuan", amount=format_decimal(ballot.budget))))
    rules += [(_("Who votes"), str(labels["eligibility"][ballot.eligibility])),
              (_("Open or secret"), str(labels["secrecy"][ballot.secrecy])),
              (_("Decision rule"), str(labels["preset"][ballot.preset]))]
    if ballot.preset == "custom":
        rules.append((_("Quorum and threshold"), _(
            "%(quorum)s%% of those eligible take part; a proposal needs %(threshold)s%% of "
            "the voters", quorum=format_decimal(ballot.quorum_pct),
            threshold=format_decimal(ballot.threshold_pct))))
    return rules


# Functions every template may call: globals, not a context processor run at every render.
bp.add_app_template_global(ballot_url)
bp.add_app_template_global(describe, "describe_ballot")
bp.add_app_template_global(ballots_of, "consultation_ballots")
