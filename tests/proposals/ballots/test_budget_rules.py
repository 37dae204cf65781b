"""The budget rules computed by the product, checked against pabutools (a test dependency only) on
many random approval elections, ties and projects dearer than the whole budget included."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pabutools.election import (
    ApprovalMultiProfile,
    Cost_Sat,
    FrozenApprovalBallot,
    Instance,
    Project,
)
from pabutools.rules import method_of_equal_shares
from pabutools.tiebreaking import TieBreakingRule

from proposals.ballots.results import equal_shares, greedy, tie_order


@dataclass(eq=False)
class Option:
    """What the rules read of a ballot option."""
    id: int
    cost: Decimal
    position: int


def approvals(draw, options: int, voters: int) -> list[tuple[int, int]]:
    """Up to `voters` ballots, each approving any set of the options, as (pattern, count)."""
    ballots = draw(st.lists(st.sets(st.integers(0, options - 1)), min_size=1,
                            max_size=voters))
    return list(Counter(sum(1 << i for i in chosen) for chosen in ballots).items())


@st.composite
def elections(draw):
    # Few distinct costs and small electorates, so that ties are frequent; costs up to twice the
    # budget, so that some projects cannot be funded at all. Ids cross 99 to 100, where text
    # ordering and number ordering part.
    budget = Decimal(draw(st.integers(10, 120)))
    costs = draw(st.lists(st.sampled_from([5, 10, 15, 20, 30, 40, 60, 100, 150, 240]),
                          min_size=1, max_size=7))
    first_id = draw(st.sampled_from([1, 95, 98]))
    options = [Option(first_id + i, Decimal(c) / (2 if draw(st.booleans()) else 1), i)
               for i, c in enumerate(costs)]
    patterns = approvals(draw, len(options), voters=14)
    return options, patterns, budget


def pabutools_mes(options, patterns, budget, add1: bool):
    projects = {o.position: Project(str(o.id), Fraction(o.cost)) for o in options}
    instance = Instance(projects.values(), budget_limit=Fraction(budget))
    profile = ApprovalMultiProfile(instance=instance)
    for pattern, count in patterns:
        profile[FrozenApprovalBallot(
            [p for pos, p in projects.items() if pattern >> pos & 1])] = count
    key = tie_order(votes_of(options, patterns))
    by_name = {str(o.id): o for o in options}
    rule = TieBreakingRule(lambda _instance, _profile, project: key(by_name[project.name]))
    return [by_name[p.name] for p in method_of_equal_shares(
        instance, profile, sat_class=Cost_Sat, tie_breaking=rule,
        voter_budget_increment=1 if add1 else None)]


def votes_of(options, patterns):
    return {o.id: sum(n for p, n in patterns if p >> o.position & 1) for o in options}


many = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@many
@given(elections())
def test_equal_shares_funds_what_pabutools_funds_in_the_same_order(election):
    options, patterns, budget = election
    ours = equal_shares(options, patterns, budget)
    assert ours.plain == pabutools_mes(options, patterns, budget, add1=False)
    # The "add 1" completion: each voter's share raised 1 yuan at a time.
    assert ours.by_method == pabutools_mes(options, patterns, budget, add1=True)


@many
@given(elections())
def test_what_equal_shares_leaves_goes_by_votes_and_nothing_overspends(election):
    options, patterns, budget = election
    ours = equal_shares(options, patterns, budget)
    votes = votes_of(options, patterns)
    assert ours.completed == greedy(options, votes, budget, ours.by_method)
    assert ours.cost <= budget and ours.plain_cost <= ours.cost
    assert all(votes[o.id] for o in ours.funded)  # nobody's choice, nobody's money
    left = budget - ours.cost
    # Nothing that anyone chose still fits in what is left.
    assert not [o for o in options if votes[o.id] and o not in ours.funded and o.cost <= left]
    assert ours.final_share >= ours.share == Fraction(budget) / sum(n for _p, n in patterns)
    assert (ours.final_share - ours.share).denominator == 1  # whole yuan raises


@st.composite
def large_elections(draw):
    # Real amounts: up to millions of yuan to the fen, and more voters.
    budget = Decimal(draw(st.integers(10_000_00, 5_000_000_00))) / 100
    options = [Option(i + 1, Decimal(c) / 100, i) for i, c in enumerate(draw(st.lists(
        st.sampled_from([1_000_00, 33_333_33, 250_000_00, 1_234_567_89, 2_000_000_00]) |
        st.integers(1_00, 6_000_000_00), min_size=1, max_size=8)))]
    patterns = approvals(draw, len(options), voters=40)
    return options, patterns, budget


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(large_elections())
def test_equal_shares_agrees_with_pabutools_on_real_amounts(election):
    # The plain method against pabutools, and what the raise must leave true, however large
    # the budget and few the voters.
    options, patterns, budget = election
    ours = equal_shares(options, patterns, budget)
    assert ours.plain == pabutools_mes(options, patterns, budget, add1=False)
    assert ours.cost <= budget and (ours.final_share - ours.share).denominator == 1
    votes = votes_of(options, patterns)
    assert not [o for o in options
                if votes[o.id] and o not in ours.funded and o.cost <= budget - ours.cost]


@st.composite
def yuan_elections(draw):
    # Amounts to the fen and raises of up to a few hundred yuan: few enough for pabutools to
    # take them a yuan at a time.
    budget = Decimal(draw(st.integers(100_00, 3_000_00))) / 100
    options = [Option(i + 1, Decimal(draw(st.integers(10_00, 2_500_00))) / 100, i)
               for i in range(draw(st.integers(1, 6)))]
    patterns = approvals(draw, len(options), voters=25)
    return options, patterns, budget


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yuan_elections())
def test_the_raise_goes_where_pabutools_goes_a_yuan_at_a_time(election):
    options, patterns, budget = election
    ours = equal_shares(options, patterns, budget)
    assert ours.plain == pabutools_mes(options, patterns, budget, add1=False)
    assert ours.by_method == pabutools_mes(options, patterns, budget, add1=True)


def test_a_three_way_tie_across_ids_99_to_101_goes_the_same_way_in_both_columns():
    # Three proposals with the same cost and the same six voters, listed on the ballot as ids
    # 101, 100, 99: text order would fund "100", number order 99; the rule funds the one listed
    # first, in both columns.
    options = [Option(101, Decimal(40), 0), Option(100, Decimal(40), 1),
               Option(99, Decimal(40), 2)]
    patterns = [(0b111, 6)]
    ours = equal_shares(options, patterns, Decimal(60))
    assert greedy(options, votes_of(options, patterns), Decimal(60)) == [options[0]]
    assert ours.funded == ours.plain == [options[0]]


def test_a_cheaper_proposal_wins_a_tie_of_votes_in_both_columns():
    options = [Option(1, Decimal(50), 0), Option(2, Decimal(30), 1)]
    patterns = [(0b01, 3), (0b10, 3)]
    votes = votes_of(options, patterns)
    assert greedy(options, votes, Decimal(60)) == [options[1]]
    assert equal_shares(options, patterns, Decimal(60)).funded == [options[1]]


def test_a_raise_of_52500_yuan_runs_the_method_a_few_times_not_52500(monkeypatch):
    # Five voters, a budget of a million: the plain share (200,000) buys the 250,000 project
    # (tied with the 380,000 one at half a yuan per yuan, and cheaper); the 380,000 project's
    # two voters then have 275,000. At a share of 252,500 they have 380,000: the raise stops
    # there, and the 600,000 project no longer fits what is left.
    from proposals.ballots import results

    options = [Option(1, Decimal(600_000), 0), Option(2, Decimal(380_000), 1),
               Option(3, Decimal(250_000), 2)]
    patterns = [(0b001, 2), (0b010, 1), (0b110, 1), (0b100, 1)]
    runs = []
    run = results._equal_shares_run
    monkeypatch.setattr(results, "_equal_shares_run", lambda *a: runs.append(a) or run(*a))
    results._equal_shares.cache_clear()
    ours = equal_shares(options, patterns, Decimal(1_000_000))
    assert (ours.plain, ours.funded, ours.completed) == ([options[2]], options[2:0:-1], [])
    assert ours.final_share - ours.share == 52_500 and ours.exhausted
    assert 1 <= len(runs) <= 5


def test_two_proposals_tied_where_the_raise_stands_part_as_it_goes_on():
    # Options 7 and 8 have the same price per yuan at the plain share, 7 first by the tie
    # rule; as the share rises, 8's falls faster and overtakes 6's at 47 yuan more, which
    # changes what is bought from there. The raise must stop there, as a yuan at a time would.
    costs = [67200, 79200, 52800, 51000, 2000, 31000, 3000, 4500, 17000, 2370, 665, 5975, 7475,
             37980]
    options = [Option(i + 1, Decimal(c), i) for i, c in enumerate(costs)]
    patterns = [(132, 1), (161, 1), (66, 1), (40, 1), (96, 3), (384, 2), (513, 6), (1026, 7),
                (2052, 5), (4104, 5), (8208, 4)]
    budget = Decimal(360_000)
    ours = equal_shares(options, patterns, budget)
    assert ours.final_share == 10_047
    assert ours.by_method == pabutools_mes(options, patterns, budget, add1=True)
