"""Ballots: votes over shortlisted proposals with explicit rules (single, approval, budget; per
resident or household; open or secret; decision presets), paper ballots and results."""
from __future__ import annotations

from decimal import Decimal

import click
from flask import Flask
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from participation import clock
from participation.phases import add_phase_guard
from participation.policy import (
    Context,
    Role,
    all_of,
    any_of,
    has_role,
    is_admin,
    is_committee,
    is_planner,
)
from participation.registries import (
    ConsultationPanel,
    PlanSource,
    add_consultation_panel,
    add_plan_source,
    add_demo_seeder,
    plug_in,
)


def _ballot_open(ctx: Context) -> bool:
    phase = getattr(ctx.obj, "phase", None)
    return phase is not None and phase.starts_at <= clock.now() < phase.ends_at


def _paper_open(ctx: Context) -> bool:
    """Paper ballots are entered while the vote runs and for a few days after it closes."""
    from .operations import paper_until

    phase = getattr(ctx.obj, "phase", None)
    return phase is not None and phase.starts_at <= clock.now() < paper_until(ctx.obj)


def _ballot_ended(ctx: Context) -> bool:
    from .operations import results_from

    return getattr(ctx.obj, "phase", None) is not None and clock.now() >= results_from(ctx.obj)


def _results_live(ctx: Context) -> bool:
    """The planner chose to show an open ballot's results while it runs. A secret ballot never
    does: results that change as people vote would tell who voted what."""
    phase = getattr(ctx.obj, "phase", None)
    return (phase is not None and clock.now() >= phase.starts_at
            and bool(getattr(ctx.obj, "results_live", False))
            and getattr(ctx.obj, "secrecy", "secret") == "open")


def _open_ballot(ctx: Context) -> bool:
    return getattr(ctx.obj, "secrecy", "secret") == "open"


RULES = {
    # The planner sets the rules; verified residents vote while the vote phase runs; the
    # committee enters paper ballots meanwhile; results follow the planner's choice.
    "ballot.manage": any_of(is_planner, is_admin),
    "ballot.vote": all_of(has_role(Role.VERIFIED), _ballot_open),
    "ballot.paper": all_of(any_of(is_committee, is_admin), _paper_open),
    "ballot.paper_view": any_of(is_committee, is_admin),
    # Results are published, to anyone, once voting ends, or while it runs when the planner
    # shows them live; before, staff may watch an open ballot. Nobody watches a secret ballot
    # being filled.
    "ballot.results": any_of(
        _ballot_ended, _results_live,
        all_of(any_of(is_planner, is_committee, is_admin), _open_ballot)),
}


@click.command("ballot-upkeep")
@with_appcontext
def ballot_upkeep_command() -> None:
    """Take the register of voters of each vote that has opened, shuffle the papers of running
    secret ballots, seal closed ones (run it from cron, e.g. every 10 minutes: a copy of the
    database can link at most the secret ballots cast since)."""
    from . import operations, secrecy

    now = clock.now()
    registers = operations.take_due_registers(now)
    rewritten, sealed = secrecy.maintain(now)
    click.echo(f"{registers} register(s) of voters taken, {rewritten} secret ballot(s) "
               f"shuffled, {sealed} sealed.")


def init_app(app: Flask) -> None:
    from proposals.operations import answer_locks

    from . import demo, operations
    from .views import bp

    plug_in(app, bp, RULES)
    app.cli.add_command(ballot_upkeep_command)
    add_consultation_panel(ConsultationPanel("ballots/_consultation_panel.html", order=20))
    add_demo_seeder(demo.seed)
    add_phase_guard(operations.ballot_phase_guard)
    add_plan_source(PlanSource(
        "ballot", _l("Ballot results"), _l("votes"), Decimal("0.5"),
        lambda community, query: list(operations.plan_items(community, None,
                                                            query).values())[:20],
        operations.plan_items, order=30))
    if operations.on_a_ballot_with_votes not in answer_locks:
        answer_locks.append(operations.on_a_ballot_with_votes)
    _describe_audit()


def _choices(field) -> dict:
    return {c.value: c.label for c in field.kwargs["choices"]}


def _date(value: str) -> str:
    from datetime import date

    from flask_babel import format_date

    try:
        return format_date(date.fromisoformat(value))
    except ValueError:
        return value


def _ballots(ids: set[int]) -> dict:
    from flask_babel import gettext as _
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from participation.extensions import db

    from .models import Ballot
    from .views import ballot_url

    return {b.id: (_("the vote “%(title)s”", title=b.title), ballot_url(b))
            for b in db.session.scalars(select(Ballot).where(Ballot.id.in_(ids))
                                        .options(joinedload(Ballot.consultation)))}


def _describe_audit() -> None:

    from participation import audit

    from .forms import BallotForm

    audit.describe({
        "ballot.save": _l("Saved the settings of %(object)s"),
        "ballot.paper_batch": _l("Recorded a batch of paper ballots for %(object)s"),
        "ballot.register_add": _l("Added a late-verified household to the register of "
                                  "%(object)s"),
        "ballot.paper_entry": _l("Entered a paper ballot for %(object)s"),
        "ballot.paper_removed": _l("Took back a paper ballot entered for %(object)s"),
    }, details={
        "method": _l("How people vote"),
        "eligibility": _l("Who votes"),
        "secrecy": _l("Open or secret"),
        "preset": _l("Decision rule"),
        "batch": _l("Batch of paper ballots"),
        "household": _l("Household"),
        "collected_by": _l("Collected by"),
        "collected_on": _l("Collected on"),
    }, values={
        "method": {"single": _l("single choice"), "approval": _l("multiple choice"),
                   "budget": _l("budget vote")},
        "secrecy": {"open": _l("open ballot"), "secret": _l("secret ballot")},
        **{name: _choices(getattr(BallotForm, name)) for name in ("eligibility", "preset")},
        "collected_on": _date,
    })
    audit.name_objects("ballot", _ballots, _l("a deleted vote"))
