"""A closed ballot's results are counted once, when voting and paper entry are over, and read
back from then on; moving the end of the vote counts them again."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from participation.clock import utcnow
from participation.consultations.models import Phase
from participation.extensions import db
from proposals.ballots.models import BallotMark, BallotTally
from tests.proposals.ballots.test_ballots import Vote, row


def test_a_closed_ballot_is_counted_once_and_read_back(app, factory, at, count_queries):
    vote = Vote(app, factory)
    vote.setup(preset="advisory")
    for i, voter in enumerate(vote.voters):
        assert vote.vote(vote.client(voter), 0, *([1] if i % 2 else [])).status_code == 303
    planner = vote.client(vote.planner)

    def stored():
        with app.app_context():
            return db.session.scalar(select(BallotTally.counts).where(
                BallotTally.ballot_id == vote.ballot_id))

    at(utcnow() + timedelta(days=7))  # voting is over, paper ballots may still come in
    assert row(vote.results(planner), "长椅")[0] == "4" and stored() is None
    at(utcnow() + timedelta(days=7 + app.config["PAPER_ENTRY_DAYS"]))  # final now
    counted = vote.results(planner)
    assert row(counted, "长椅")[0] == "4" and row(counted, "凉亭")[0] == "2"
    assert stored() is not None
    with count_queries() as counting_again:
        read_back = vote.results(planner)
    assert row(read_back, "凉亭") == row(counted, "凉亭") and "4" in row(read_back, "长椅")
    with app.app_context():
        # What the page shows is the stored count: the papers are not read again.
        db.session.execute(delete(BallotMark))
        db.session.commit()
    with count_queries() as reading:
        assert row(vote.results(planner), "长椅")[0] == "4"
    assert reading.count == counting_again.count
    with app.app_context():  # the vote's end moved: the counts are taken again
        db.session.get(Phase, vote.phase_id).ends_at -= timedelta(hours=1)
        db.session.commit()
    assert row(vote.results(planner), "长椅")[0] == "0"


def test_more_days_for_paper_ballots_count_a_closed_ballot_again(app, factory, at):
    vote = Vote(app, factory)
    vote.setup(preset="advisory")
    for voter in vote.voters:
        assert vote.vote(vote.client(voter), 0).status_code == 303
    planner = vote.client(vote.planner)
    days = app.config["PAPER_ENTRY_DAYS"]
    at(utcnow() + timedelta(days=7 + days))
    assert row(vote.results(planner), "长椅")[0] == "4"  # final, stored
    with app.app_context():  # stands for paper ballots entered in the days added below
        db.session.execute(delete(BallotMark))
        db.session.commit()
    app.config["PAPER_ENTRY_DAYS"] = days + 2
    at(utcnow() + timedelta(days=7 + days + 3))
    assert row(vote.results(planner), "长椅")[0] == "0"  # counted again at the new end



def test_interim_results_are_counted_at_most_every_few_seconds(app, factory, count_queries):
    app.config["INTERIM_RESULTS_SECONDS"] = 15
    vote = Vote(app, factory)
    vote.setup(preset="advisory", results_live="y")
    voters = [vote.client(v) for v in vote.voters]
    assert vote.vote(voters[0], 0).status_code == 303
    page = vote.results(voters[1])
    assert row(page, "长椅")[0] == "1" and "15 秒" in page  # says how fresh it is
    assert vote.vote(voters[1], 0).status_code == 303
    # Within the interval everyone sees the same count, taken once.
    with count_queries() as shared:
        assert row(vote.results(voters[2]), "长椅")[0] == "1"
    app.config["INTERIM_RESULTS_SECONDS"] = 0
    with count_queries() as counting:
        assert row(vote.results(voters[2]), "长椅")[0] == "2"
    assert shared.count < counting.count
