"""State changes of ballots: setting the rules, voting online, paper batches and entries."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import format_date, format_decimal, to_user_timezone
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import String, bindparam, delete, func, insert, literal, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import joinedload, selectinload

from participation.accounts.models import User
from participation.accounts.operations import normalise_login
from participation.audit.operations import record
from participation.clock import utcnow
from participation.communities.models import Household, Membership
from participation.consultations.models import Consultation, Phase
from participation.database import (
    insert_unless_exists,
    insert_unless_exists_returning_id,
)
from participation.errors import OperationError
from participation.extensions import db
from participation.policy import Role
from participation.web import parse_ids
from proposals.models import Proposal

from .models import (
    MAX_OPTIONS,
    Ballot,
    BallotMark,
    BallotOption,
    BallotPaper,
    BallotVoter,
    PaperBatch,
    RegisterEntry,
)


def paper_grace() -> timedelta:
    """Paper ballots collected on the last day still need entering: the committee has a few
    days after the vote closes (LINLI_PAPER_ENTRY_DAYS)."""
    from flask import current_app

    return timedelta(days=current_app.config["PAPER_ENTRY_DAYS"])


def paper_until(ballot: Ballot) -> datetime:
    return ballot.phase.ends_at + paper_grace()


def results_from(ballot: Ballot) -> datetime:
    """When a ballot's results are published: when voting ends; for a secret ballot only once
    the paper ballots are in too, since every later change would point at a paper voter."""
    return paper_until(ballot) if ballot.secret else ballot.phase.ends_at


def on_a_ballot_with_votes(proposal: Proposal) -> bool:
    """The proposal is an option of a ballot people have voted on that is not over yet (paper
    ballots may still be entered, see paper_grace)."""
    return db.session.scalar(
        select(BallotOption.id).join(Ballot, Ballot.id == BallotOption.ballot_id)
        .join(Phase, Phase.id == Ballot.phase_id)
        .join(BallotVoter, BallotVoter.ballot_id == BallotOption.ballot_id)
        .where(BallotOption.proposal_id == proposal.id, Phase.ends_at > utcnow() - paper_grace())
        .limit(1)) is not None


@dataclass
class BallotRules:
    """What a planner decides when setting up a ballot (see the form for the words users read)."""

    title: str
    phase_id: int
    method: str
    eligibility: str
    secrecy: str
    preset: str
    options: list[tuple[int, Decimal | None]]  # (proposal id, cost)
    max_choices: int | None = None
    budget: Decimal | None = None
    quorum_pct: Decimal | None = None
    threshold_pct: Decimal | None = None
    results_live: bool = False


def ballot_problems(consultation: Consultation, rules: BallotRules,
                    ballot_id: int | None = None) -> dict[str, str]:
    """Why these rules cannot be saved, by form field; empty when they can."""
    problems: dict[str, str] = {}
    phase = next((p for p in consultation.phases if p.id == rules.phase_id), None)
    if phase is None or phase.kind != "vote":
        problems["phase_id"] = _("Choose one of this consultation's vote phases.")
    elif db.session.scalar(select(Ballot.id).where(Ballot.phase_id == rules.phase_id,
                                                   Ballot.id != (ballot_id or 0))):
        problems["phase_id"] = _("This vote phase already has a ballot.")
    shortlisted = set(db.session.scalars(select(Proposal.id).where(
        Proposal.consultation_id == consultation.id, Proposal.status == "accepted")))
    ids = [pid for pid, _cost in rules.options]
    if not set(ids) <= shortlisted or len(set(ids)) != len(ids):
        problems["options"] = _("Choose among the shortlisted proposals of this consultation.")
    elif len(ids) < (2 if rules.method == "single" else 1) or len(ids) > MAX_OPTIONS:
        problems["options"] = _("Choose between %(min)d and %(max)d shortlisted proposals.",
                                min=2 if rules.method == "single" else 1, max=MAX_OPTIONS)
    if rules.method == "approval" and not (rules.max_choices and 1 <= rules.max_choices
                                           <= max(len(ids), 1)):
        problems["max_choices"] = _("Say how many proposals a voter may choose, at most as "
                                    "many as there are on the ballot.")
    if rules.method == "budget" and not rules.budget:
        problems["budget"] = _("Give the budget to share out, in yuan.")
    elif rules.method == "budget":
        too_dear = [pid for pid, cost in rules.options if cost and cost > rules.budget]
        if too_dear:
            problems["options"] = _("A proposal that costs more than the whole budget could "
                                    "never be chosen: raise the budget or leave it off.")
    # An approval vote may carry a budget too: its results then show what the budget funds.
    if rules.budget and rules.method != "single" and any(
            cost is None or cost <= 0 for _pid, cost in rules.options):
        problems["options"] = _("With a budget, every proposal on the ballot needs its cost.")
    if rules.preset in ("civil_ordinary", "civil_major") and (
            rules.eligibility != "household" or rules.secrecy != "open"):
        problems["preset"] = _(
            "Civil Code art. 278 decisions count owners and their floor area: choose one ballot "
            "per household, and an open ballot (a secret one could be traced through the area).")
    if rules.preset == "custom" and (rules.quorum_pct is None or not rules.threshold_pct):
        problems["preset"] = _("A custom rule needs both a quorum and a threshold.")
    if rules.secrecy == "secret" and rules.results_live:
        problems["results_live"] = _(
            "A secret ballot shows its results only when voting ends: results that change as "
            "people vote would tell who voted what.")
    return problems


def has_votes(ballot: Ballot) -> bool:
    """Somebody has voted, online or on paper: the rules can no longer change."""
    return db.session.scalar(select(BallotVoter.id).where(BallotVoter.ballot_id == ballot.id)
                             .limit(1)) is not None


def _hold_rules(ballot: Ballot) -> Ballot:
    """Read the ballot's rules afresh and hold them until this transaction ends: on PostgreSQL a
    share lock (voters do not wait for each other; a planner's change waits for them), on SQLite
    the write lock every POST already takes. The options come with their ids and costs, which
    is all a vote checks; their proposals stay as they were loaded (or load when asked for)."""
    return db.session.scalars(HOLD_RULES, {"ballot_id": ballot.id}).unique().one()


# Built once: every vote runs it.
HOLD_RULES = (select(Ballot).where(Ballot.id == bindparam("ballot_id"))
              .with_for_update(read=True, of=Ballot).options(joinedload(Ballot.options))
              .execution_options(populate_existing=True))


def save_ballot(planner: User, consultation: Consultation, ballot: Ballot | None,
                rules: BallotRules) -> Ballot:
    if ballot is not None:
        # Wait for votes being cast right now; once anybody has voted, the rules stay.
        db.session.execute(select(Ballot.id).where(Ballot.id == ballot.id).with_for_update())
        if has_votes(ballot):
            raise OperationError(_("Voting has begun: the rules of this ballot can no longer "
                                   "change."))
    problems = ballot_problems(consultation, rules, ballot.id if ballot else None)
    if problems:
        raise OperationError(" ".join(problems.values()))
    if ballot is None:
        ballot = Ballot(consultation_id=consultation.id, created_by_id=planner.id)
        db.session.add(ballot)
    ballot.title, ballot.phase_id = rules.title.strip(), rules.phase_id
    ballot.method, ballot.eligibility, ballot.secrecy = rules.method, rules.eligibility, \
        rules.secrecy
    ballot.preset, ballot.results_live = rules.preset, rules.results_live
    ballot.max_choices = rules.max_choices if rules.method == "approval" else None
    ballot.budget = rules.budget if rules.method != "single" else None
    custom = rules.preset == "custom"
    ballot.quorum_pct = rules.quorum_pct if custom else None
    ballot.threshold_pct = rules.threshold_pct if custom else None
    ballot.options.clear()
    db.session.flush()
    ballot.options.extend(
        BallotOption(proposal_id=pid, position=i,
                     cost=cost if ballot.budget else None)
        for i, (pid, cost) in enumerate(rules.options))
    db.session.flush()
    record("ballot.save", actor=planner, community=consultation.community,
           target=f"ballot:{ballot.id}", title=ballot.title, method=ballot.method,
           eligibility=ballot.eligibility, secrecy=ballot.secrecy, preset=ballot.preset)
    return ballot


def _chosen(ballot: Ballot, option_ids: list[int], none: bool) -> list[BallotOption]:
    """The options marked, checked against the ballot's method."""
    wanted = set(option_ids)
    chosen = [o for o in ballot.options if o.id in wanted]
    if len(chosen) != len(wanted):
        raise OperationError(_("Choose among the options of this ballot."))
    if ballot.method == "single" and len(chosen) != 1:
        raise OperationError(_("Choose exactly one option."))
    if not chosen and not none:
        raise OperationError(_("Choose at least one option, or tick “none of these”."))
    if chosen and none:
        raise OperationError(_("Either choose options or tick “none of these”, not both."))
    if ballot.method == "approval" and len(chosen) > (ballot.max_choices or 0):
        raise OperationError(_("Choose at most %(k)d options.", k=ballot.max_choices))
    if ballot.method == "budget":
        total = sum((o.cost or Decimal(0) for o in chosen), Decimal(0))
        if total > (ballot.budget or 0):
            raise OperationError(_(
                "Your choices cost %(total)s yuan, more than the budget of %(budget)s yuan.",
                total=format_decimal(total), budget=format_decimal(ballot.budget)))
    return chosen


def _new_paper(ballot: Ballot, voter_id: int, channel: str,
               chosen: list[BallotOption]) -> None:
    paper_id = secrets.token_hex(16)
    # Plain table inserts on the session's connection, in its transaction: the ORM would cost
    # more than the statements. (The voter's row, inserted before through the session, has
    # marked the transaction as one that writes.)
    connection = db.session.connection()
    connection.execute(insert(BallotPaper.__table__).values(
        id=paper_id, ballot_id=ballot.id, secret=ballot.secret,
        voter_id=None if ballot.secret else voter_id,
        channel=None if ballot.secret else channel))
    if chosen:
        connection.execute(insert(BallotMark.__table__),
                           [{"paper_id": paper_id, "option_id": o.id} for o in chosen])


def voter_key(ballot: Ballot, user_id: int | None, household_id: int | None) -> str:
    return f"h{household_id}" if ballot.eligibility == "household" else f"u{user_id}"


def cast(user: User, membership: Membership, ballot: Ballot, option_ids: list[int],
         none: bool = False) -> str:
    """Cast or change the user's ballot; returns "cast" or "changed". The unique voter key makes
    a second ballot impossible; an open ballot's voter changes their marks instead."""
    take_register(ballot)
    ballot = _hold_rules(ballot)
    chosen = _chosen(ballot, option_ids, none)
    if ballot.eligibility == "household" and membership.household_id is None:
        raise OperationError(_("This ballot is one per household, and you are not yet linked "
                               "to a household. Ask the residents' committee."))
    key = voter_key(ballot, user.id, membership.household_id)
    if not _registered(ballot, key):
        raise OperationError(_(
            "You are not in this vote's register of voters, taken on %(date)s when voting "
            "opened. If you were verified since, the residents' committee can add you.",
            date=_register_date(ballot)))
    if ballot.eligibility == "household":
        # Moved to another household since voting? Still one vote for this person.
        earlier = db.session.scalar(select(BallotVoter.voter_key).where(
            BallotVoter.ballot_id == ballot.id, BallotVoter.user_id == user.id))
        if earlier is not None and earlier != key:
            raise OperationError(_("You have already voted for another household."))
    voter_id = insert_unless_exists_returning_id(BallotVoter, ["ballot_id", "voter_key"], {
        "ballot_id": ballot.id, "voter_key": key, "user_id": user.id,
        "household_id": membership.household_id, "channel": "online"})
    if voter_id is not None:
        _new_paper(ballot, voter_id, "online", chosen)
        return "cast"
    # Already voted: lock the voter's row so simultaneous changes apply one after the other.
    existing = db.session.scalar(select(BallotVoter).where(
        BallotVoter.ballot_id == ballot.id, BallotVoter.voter_key == key).with_for_update())
    if existing is None:  # the committee took back this household's paper entry just now
        raise OperationError(_("Your vote crossed a correction by the committee. Please vote "
                               "again."))
    if existing.channel == "paper":
        raise OperationError(
            _("Your household's paper ballot has been counted; it cannot also vote online.")
            if ballot.eligibility == "household" else
            _("Your paper ballot has been counted; you cannot also vote online."))
    if existing.user_id != user.id:
        raise OperationError(_("Another member of your household has already voted; only they "
                               "can change the household's ballot."))
    if ballot.secret:
        raise OperationError(_("You have already voted. A secret ballot is final."))
    paper_id = db.session.scalar(select(BallotPaper.id).where(BallotPaper.voter_id == existing.id))
    db.session.execute(delete(BallotMark).where(BallotMark.paper_id == paper_id))
    if chosen:
        db.session.execute(insert(BallotMark), [{"paper_id": paper_id, "option_id": o.id}
                                                for o in chosen])
    existing.changed_at = utcnow()
    return "changed"


def add_paper_batch(clerk: User, ballot: Ballot, collected_by: str,
                    collected_on: date) -> PaperBatch:
    phase = ballot.phase
    # Days as the community counts them, in its own time zone.
    first, last = (to_user_timezone(phase.starts_at).date(),
                   to_user_timezone(phase.ends_at).date())
    if not first <= collected_on <= last:
        raise OperationError(_("Paper ballots count when collected while the vote runs: "
                               "%(start)s to %(end)s.", start=format_date(phase.starts_at),
                               end=format_date(phase.ends_at)))
    batch = PaperBatch(ballot_id=ballot.id, collected_by=collected_by.strip(),
                       collected_on=collected_on, entered_by_id=clerk.id)
    db.session.add(batch)
    db.session.flush()
    record("ballot.paper_batch", actor=clerk, community=ballot.consultation.community,
           target=f"ballot:{ballot.id}", batch=batch.id, collected_by=batch.collected_by,
           collected_on=collected_on.isoformat())
    return batch


def _resident_at(ballot: Ballot, household: Household, login: str | None) -> int:
    """The verified resident of the household whom a phone number or e-mail names."""
    kind, value = normalise_login(login or "")
    user_id = db.session.scalar(
        select(User.id).join(Membership, Membership.user_id == User.id).where(
            Membership.community_id == ballot.consultation.community_id,
            Membership.household_id == household.id, Membership.revoked_at.is_(None),
            Membership.role == Role.VERIFIED.value,
            (func.lower(User.email) == value) if kind == "email" else (User.phone == value)
        )) if value else None
    if user_id is None:
        raise OperationError(_("No verified resident with that phone number or e-mail "
                               "lives at %(address)s.", address=household.address))
    return user_id


# --- the register of voters, frozen when voting opens -----------------------------------------


def take_register(ballot: Ballot) -> None:
    """Take the ballot's register of voters, once, when voting has opened: every household of
    the roster (with its floor area) for a ballot per household, every verified resident for a
    ballot per resident. Turnout, quorum and areas count against it from then on.

    It takes the ballot's row lock, so callers call it before `_hold_rules` (a share lock held
    first and upgraded would deadlock two first voters on PostgreSQL)."""
    if ballot.register_taken_at is not None or utcnow() < ballot.phase.starts_at:
        return
    locked = db.session.scalar(select(Ballot).where(Ballot.id == ballot.id).with_for_update()
                               .execution_options(populate_existing=True))
    if locked.register_taken_at is not None:
        return
    community_id = ballot.consultation.community_id
    now = utcnow()
    if ballot.eligibility == "household":
        rows = select(literal(ballot.id), literal("h") + sql_cast(Household.id, String), literal(None),
                      Household.id, Household.floor_area, literal(now)).where(
            Household.community_id == community_id)
    else:
        rows = select(literal(ballot.id), literal("u") + sql_cast(Membership.user_id, String),
                      Membership.user_id, Membership.household_id, Household.floor_area,
                      literal(now)).outerjoin(
            Household, Household.id == Membership.household_id).where(
            Membership.community_id == community_id, Membership.revoked_at.is_(None),
            Membership.role == Role.VERIFIED.value)
    db.session.execute(insert(RegisterEntry).from_select(
        ["ballot_id", "voter_key", "user_id", "household_id", "floor_area", "created_at"], rows))
    locked.register_taken_at = now


def take_due_registers(now) -> int:
    """Take the register of every vote that has opened without one yet; returns how many."""
    due = db.session.scalars(select(Ballot).join(Ballot.phase).where(
        Ballot.register_taken_at.is_(None), Phase.starts_at <= now)).all()
    for ballot in due:
        take_register(ballot)
    db.session.commit()
    return len(due)


# Asked at every vote, while the write lock is held: built once, and run on the session's
# connection (in its transaction) without the ORM.
IN_REGISTER = select(RegisterEntry.id).where(RegisterEntry.ballot_id == bindparam("ballot_id"),
                                             RegisterEntry.voter_key == bindparam("key"))


def _registered(ballot: Ballot, key: str) -> bool:
    return ballot.register_taken_at is None or db.session.connection().scalar(
        IN_REGISTER, {"ballot_id": ballot.id, "key": key}) is not None


def _register_date(ballot: Ballot) -> str:
    return format_date(to_user_timezone(ballot.register_taken_at))


def add_to_register(clerk: User, ballot: Ballot, household: Household,
                    login: str | None) -> RegisterEntry:
    """Add a resident verified (or a household entered) after the register was taken."""
    take_register(ballot)  # before the share lock, as in cast(): never upgrade a held lock
    ballot = _hold_rules(ballot)
    user_id = _resident_at(ballot, household, login) if ballot.eligibility == "resident" \
        else None
    entry = RegisterEntry(ballot_id=ballot.id, voter_key=voter_key(ballot, user_id, household.id),
                          user_id=user_id, household_id=household.id,
                          floor_area=household.floor_area, added_late_by_id=clerk.id)
    if not insert_unless_exists(entry):
        raise OperationError(_("%(address)s is already in the register of voters.",
                               address=household.address))
    record("ballot.register_add", actor=clerk, community=ballot.consultation.community,
           target=f"ballot:{ballot.id}", household=household.address)
    return entry


def enter_paper(clerk: User, ballot: Ballot, batch: PaperBatch, household: Household,
                login: str | None, option_ids: list[int], none: bool = False) -> BallotVoter:
    """Count one paper ballot, checked against the register: a household (or, for a ballot per
    resident, a verified resident of that household) that voted already is refused."""
    take_register(ballot)
    ballot = _hold_rules(ballot)
    chosen = _chosen(ballot, option_ids, none)
    user_id = _resident_at(ballot, household, login) if ballot.eligibility == "resident" \
        else None
    if not _registered(ballot, voter_key(ballot, user_id, household.id)):
        raise OperationError(_(
            "%(address)s is not in this vote's register of voters, taken on %(date)s when "
            "voting opened. Add it to the register first if it belongs there.",
            address=household.address, date=_register_date(ballot)))
    voter = BallotVoter(ballot_id=ballot.id, voter_key=voter_key(ballot, user_id, household.id),
                        user_id=user_id, household_id=household.id, channel="paper",
                        batch_id=batch.id)
    if not insert_unless_exists(voter):
        raise OperationError(_("%(address)s has already voted; this paper ballot cannot be "
                               "counted.", address=household.address))
    _new_paper(ballot, voter.id, voter.channel, chosen)
    # The audit names the household, never the choice.
    record("ballot.paper_entry", actor=clerk, community=ballot.consultation.community,
           target=f"ballot:{ballot.id}", batch=batch.id, household=household.address)
    return voter


def ballot_phase_guard(phase, kind, start, end) -> str | None:
    """A vote phase holding a ballot stays a vote phase. Once people have voted it may only run
    longer, and not at all once it has ended (its results are out)."""
    ballot = db.session.scalar(select(Ballot).where(Ballot.phase_id == phase.id)
                               .with_for_update())  # a first vote waits for this decision
    if ballot is None:
        return None
    if kind is None or kind != "vote":
        return _("The vote phase of “%(title)s” holds its ballot and cannot be removed.",
                 title=ballot.title)
    # Within a minute is the same time: forms show phases to the minute (or second).
    minute = timedelta(minutes=1)
    unchanged = abs(start - phase.starts_at) < minute and abs(end - phase.ends_at) < minute
    if has_votes(ballot) and not unchanged:
        if phase.ends_at <= utcnow():
            return _("Voting in “%(title)s” is over: its vote phase can no longer change.",
                     title=ballot.title)
        if abs(start - phase.starts_at) >= minute or end <= phase.ends_at - minute:
            return _("People have voted in “%(title)s”: its vote phase can run longer, but "
                     "cannot start at another time or end sooner.", title=ballot.title)
    return None


def remove_paper_entry(clerk: User, ballot: Ballot, voter: BallotVoter) -> None:
    """Take back a paper ballot entered by mistake, so it can be entered again correctly. Only
    an open ballot's paper can be found again; a secret one names nobody."""
    if ballot.secret or voter.channel != "paper" or voter.ballot_id != ballot.id:
        raise OperationError(_("Only a paper entry of an open ballot can be taken back."))
    address = voter.household.address if voter.household else ""
    batch_id = voter.batch_id
    # Its paper and marks go with it. A second click finds nothing left to take back.
    gone = db.session.execute(delete(BallotVoter).where(
        BallotVoter.id == voter.id, BallotVoter.channel == "paper")).rowcount
    if not gone:
        raise OperationError(_("This entry was already taken back."))
    record("ballot.paper_removed", actor=clerk, community=ballot.consultation.community,
           target=f"ballot:{ballot.id}", batch=batch_id, household=address)


def plan_items(community, refs: list[str] | None = None, query: str = "") -> dict:
    """The plan's "ballot result" source: each option of the community's ballots whose results
    are final (voting and paper entry over), with its votes and whether it passed or was
    funded under each rule; `ref` is "ballot:option". A final ballot's counts are stored, so
    each costs one query however many voted."""
    from flask import url_for

    from participation.clock import now
    from participation.registries import SourceItem

    from .results import tally

    wanted = set(parse_ids(r.partition(":")[0] for r in refs)) if refs is not None else None
    statement = (select(Ballot).join(Phase, Phase.id == Ballot.phase_id)
                 .join(Consultation, Consultation.id == Ballot.consultation_id)
                 .where(Consultation.community_id == community.id,
                        Phase.ends_at <= now() - paper_grace())
                 .options(selectinload(Ballot.options).selectinload(BallotOption.proposal))
                 .order_by(Phase.ends_at.desc()))
    if wanted is not None:
        statement = statement.where(Ballot.id.in_(wanted))
    else:  # the newest final ballots, those with a matching option when searching
        if query.strip():
            statement = statement.where(Ballot.options.any(BallotOption.proposal.has(
                Proposal.title.icontains(query.strip(), autoescape=True))))
        statement = statement.limit(10)
    found = {}
    for ballot in db.session.scalars(statement):
        results = tally(ballot, final_since=paper_until(ballot))
        greedy_ids = {o.id for o in results.greedy}
        mes_ids = {o.id for o in results.mes.funded} if results.mes else set()
        for result in results.options:
            option = result.option
            title = option.proposal.title
            if query.strip() and query.strip().casefold() not in title.casefold():
                continue
            said = [ngettext("%(num)d vote in “%(ballot)s”", "%(num)d votes in “%(ballot)s”",
                             result.votes, ballot=ballot.title)]
            if result.passed is not None:
                said.append(_("passed") if result.passed else _("not passed"))
            if ballot.method == "budget":
                said.append(_("funded by most votes") if option.id in greedy_ids
                            else _("not funded by most votes"))
                said.append(_("funded by equal shares") if option.id in mes_ids
                            else _("not funded by equal shares"))
            ref = f"{ballot.id}:{option.id}"
            found[ref] = SourceItem(
                ref, title, Decimal(result.votes), _("; ").join(said),
                url_for("ballots.results", community_id=community.id, ballot_id=ballot.id),
                site_id=option.proposal.site_id, cost=option.cost)
    return {r: found[r] for r in refs if r in found} if refs is not None else found
