"""At most 8 SQL statements on any key page, whatever the size of the community."""
from __future__ import annotations

from datetime import timedelta

from participation.clock import utcnow
from tests.proposals.ballots.test_ballots import Vote

LIMIT = 8


def pages(vote: Vote) -> dict[str, str]:
    c = vote.community.id
    proposal = vote.proposals[0]
    return {
        "community home": f"/c/{c}",
        "proposal list": f"/c/{c}/proposals",
        "proposal list by supports": f"/c/{c}/proposals?sort=supported",
        "proposal list, site filter": f"/c/{c}/proposals?site=3号楼",
        "proposal": f"/c/{c}/proposals/{proposal}",
        "ballot": vote.url,
        "ballot results": vote.url + "/results",
    }


def test_key_pages_stay_within_eight_queries(app, factory, count_queries, at):
    vote = Vote(app, factory)
    vote.setup(preset="advisory")
    for voter in vote.voters:
        assert vote.vote(vote.client(voter), 0, 1).status_code == 303
    at(utcnow() + timedelta(days=7))  # the vote is over: its results are everyone's
    for who in (vote.planner, vote.voters[1]):
        client = vote.client(who)
        for name, url in pages(vote).items():
            client.get(url)  # figures and stored tallies are in place from here on
            with count_queries() as queries:
                response = client.get(url)
            assert response.status_code == 200, name
            assert queries.count <= LIMIT, "\n".join([name] + [q[:100] for q in queries.statements])
