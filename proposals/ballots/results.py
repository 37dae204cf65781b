"""A ballot's results: tallies counted by the database, turnout against the eligible count, the
decision under the ballot's preset, and for budget ballots the greedy and the Method of Equal
Shares selections side by side.

Everything is aggregated in SQL, so the number of queries does not grow with the number of
ballots: a budget ballot's profile is read as one row per distinct pattern of choices (each option
owns one bit of the pattern), not one row per voter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from flask import current_app
from sqlalchemy import BigInteger, delete, func, insert, literal, select
from sqlalchemy.exc import IntegrityError, OperationalError

from participation.clock import utcnow
from participation.communities.models import Household, Membership
from participation.extensions import cache, db
from participation.policy import Role

from .models import (
    Ballot,
    BallotMark,
    BallotOption,
    BallotPaper,
    BallotTally,
    BallotVoter,
    RegisterEntry,
)

ZERO = Decimal(0)


@dataclass
class OptionResult:
    option: BallotOption
    online: int = 0
    paper: int = 0
    area: Decimal | None = None  # floor area of the households that chose it (art. 278 presets)
    passed: bool | None = None  # None: the preset decides nothing per option (advisory)

    @property
    def votes(self) -> int:
        return self.online + self.paper


@dataclass
class Results:
    ballot: Ballot
    options: list[OptionResult]  # most votes first
    online: int
    paper: int
    eligible: int
    area_total: Decimal | None = None  # all households' floor area, when every one is known
    area_voted: Decimal | None = None
    area_missing: int = 0  # households in the roster without a floor area
    quorum_met: bool | None = None
    uses_area: bool = False
    greedy: list[BallotOption] = field(default_factory=list)
    mes: EqualShares | None = None

    @property
    def valid(self) -> bool:
        """False where the preset's legal test could not be applied: a Civil Code art. 278
        preset needs every household's floor area."""
        return self.ballot.preset not in ("civil_ordinary", "civil_major") or self.uses_area

    @property
    def participants(self) -> int:
        return self.online + self.paper

    @property
    def turnout(self) -> Decimal | None:
        if not self.eligible:
            return None
        return Decimal(self.participants) / Decimal(self.eligible)

    def share(self, result: OptionResult) -> Decimal:
        """The option's votes as a share of those who took part."""
        return Decimal(result.votes) / Decimal(self.participants) if self.participants else ZERO


def _at_least(part, whole, fraction: Fraction) -> bool:
    return whole > 0 and Fraction(part) >= fraction * Fraction(whole)


def _more_than(part, whole, fraction: Fraction) -> bool:
    return whole > 0 and Fraction(part) > fraction * Fraction(whole)


def tally(ballot: Ballot, final_since: datetime | None = None) -> Results:
    """The ballot's results. Once they are final (voting and paper entry over: `final_since`
    is when paper entry ended) the counts are taken once, stored, and read back by every later
    view: a closed ballot of any size costs one query to show. Should the end of voting or of
    paper entry move, they are taken again."""
    if final_since is None:
        return results_of(ballot, _interim_counts(ballot))
    stored = db.session.get(BallotTally, ballot.id)
    if stored is not None and stored.closed_at == final_since:
        return results_of(ballot, stored.counts)
    counts = count(ballot)
    _store(ballot, counts, final_since, stale=stored is not None)
    return results_of(ballot, counts)


def _interim_counts(ballot: Ballot) -> dict:
    """While voting runs, the counts are taken at most every INTERIM_RESULTS_SECONDS and shared
    by everyone looking in between (the page says so)."""
    seconds = current_app.config["INTERIM_RESULTS_SECONDS"]
    if not seconds:
        return count(ballot)
    key = f"ballot-counts/{ballot.id}"
    counts = cache.get(key)
    if counts is None:
        counts = count(ballot)
        cache.set(key, counts, timeout=seconds)
    return counts


def _store(ballot: Ballot, counts: dict, final_since: datetime, stale: bool) -> None:
    """Keep the counts with the request's own transaction (a page that reads commits it too),
    inside a savepoint: a concurrent view that stored them first, or a database too busy to
    write just now, leaves them for the next view."""
    try:
        with db.session.begin_nested():
            if stale:
                db.session.execute(delete(BallotTally).where(BallotTally.ballot_id == ballot.id))
            db.session.execute(insert(BallotTally), [{
                "ballot_id": ballot.id, "closed_at": final_since, "counts": counts,
                "counted_at": utcnow()}])
    except (IntegrityError, OperationalError):
        pass


def count(ballot: Ballot) -> dict:
    """Everything the results are computed from, counted by the database: plain numbers (and
    decimals as text), so that they can be stored as they are."""
    counts: dict = {"marks": [list(r) for r in db.session.execute(
        select(BallotMark.option_id, BallotPaper.channel, func.count())
        .join(BallotPaper, BallotPaper.id == BallotMark.paper_id)
        .where(BallotPaper.ballot_id == ballot.id)
        .group_by(BallotMark.option_id, BallotPaper.channel))]}
    counts["turnout"] = dict(db.session.execute(
        select(BallotVoter.channel, func.count())
        .where(BallotVoter.ballot_id == ballot.id).group_by(BallotVoter.channel)).all())
    household = ballot.eligibility == "household"
    if ballot.register_taken_at is not None:
        # Counted against the register frozen when voting opened, never the roster of today.
        voters = select(func.count(RegisterEntry.id), func.sum(RegisterEntry.floor_area),
                        func.count(RegisterEntry.floor_area)).where(
            RegisterEntry.ballot_id == ballot.id)
    elif household:  # nobody has voted yet: what the register would hold now
        voters = select(func.count(Household.id), func.sum(Household.floor_area),
                        func.count(Household.floor_area)).where(
            Household.community_id == ballot.consultation.community_id)
    else:
        voters = select(func.count(Membership.id), literal(None), literal(0)).where(
            Membership.community_id == ballot.consultation.community_id,
            Membership.revoked_at.is_(None), Membership.role == Role.VERIFIED.value)
    eligible, area, with_area = db.session.execute(voters).one()
    counts["voters"] = [eligible, _text(area), with_area]
    if ballot.preset in ("civil_ordinary", "civil_major") and household \
            and area is not None and eligible == with_area:
        # Open ballots per household only (the rules refuse anything else for these presets);
        # each household's area as the register holds it.
        area_of = (select(RegisterEntry.voter_key, RegisterEntry.floor_area)
                   .where(RegisterEntry.ballot_id == ballot.id).subquery())
        counts["area"] = [[option_id, _text(area)] for option_id, area in db.session.execute(
            select(BallotMark.option_id, func.sum(area_of.c.floor_area))
            .join(BallotPaper, BallotPaper.id == BallotMark.paper_id)
            .join(BallotVoter, BallotVoter.id == BallotPaper.voter_id)
            .join(area_of, area_of.c.voter_key == BallotVoter.voter_key)
            .where(BallotPaper.ballot_id == ballot.id)
            .group_by(BallotMark.option_id))]
        counts["area_voted"] = _text(db.session.scalar(
            select(func.coalesce(func.sum(area_of.c.floor_area), 0))
            .join(BallotVoter, BallotVoter.voter_key == area_of.c.voter_key)
            .where(BallotVoter.ballot_id == ballot.id)))
    if ballot.budget and all(o.cost for o in ballot.options):
        counts["profile"] = [list(p) for p in profile(ballot)]
    return counts


def _text(value) -> str | None:
    return None if value is None else str(Decimal(value))


def results_of(ballot: Ballot, counts: dict) -> Results:
    """The results from the counts, as `count` gives them or as they were stored."""
    options = {o.id: OptionResult(o) for o in ballot.options}
    for option_id, channel, n in counts["marks"]:
        # A secret paper says not how it came in: its marks count in the total only.
        if option_id in options:
            setattr(options[option_id], channel or "online", n)
    turnout = counts["turnout"]
    results = Results(ballot, [], turnout.get("online", 0), turnout.get("paper", 0), 0)
    eligible, area, with_area = counts["voters"]
    results.eligible = eligible
    if ballot.eligibility == "household":
        results.area_missing = eligible - with_area
        results.area_total = Decimal(area) if area is not None and not results.area_missing \
            else None
    civil = ballot.preset in ("civil_ordinary", "civil_major")
    results.uses_area = civil and results.area_total is not None
    if results.uses_area:
        for r in options.values():
            r.area = ZERO
        for option_id, voted in counts.get("area", []):
            if option_id in options:
                options[option_id].area = Decimal(voted or 0)
        results.area_voted = Decimal(counts.get("area_voted") or 0)
    _decide(results, list(options.values()))
    results.options = sorted(options.values(), key=lambda r: (-r.votes, r.option.position))
    if "profile" in counts:
        votes = {r.option.id: r.votes for r in results.options}
        results.greedy = greedy(ballot.options, votes, ballot.budget)
        results.mes = equal_shares(ballot.options, [tuple(p) for p in counts["profile"]],
                                   ballot.budget)
    return results


def _decide(results: Results, options: list[OptionResult]) -> None:
    ballot, n = results.ballot, results.participants
    preset = ballot.preset
    if preset == "advisory":
        return
    if preset == "residents_meeting":
        results.quorum_met = _more_than(n, results.eligible, Fraction(1, 2))
        for r in options:
            r.passed = results.quorum_met and _more_than(r.votes, n, Fraction(1, 2))
    elif preset in ("civil_ordinary", "civil_major"):
        quorum = _at_least(n, results.eligible, Fraction(2, 3))
        if results.uses_area:
            quorum = quorum and _at_least(results.area_voted, results.area_total, Fraction(2, 3))
        results.quorum_met = quorum
        for r in options:
            if preset == "civil_ordinary":
                ok = _more_than(r.votes, n, Fraction(1, 2))
                if results.uses_area:
                    ok = ok and _more_than(r.area, results.area_voted, Fraction(1, 2))
            else:
                ok = _at_least(r.votes, n, Fraction(3, 4))
                if results.uses_area:
                    ok = ok and _at_least(r.area, results.area_voted, Fraction(3, 4))
            # Counted by heads only, the statute's test was not applied: nothing passes.
            r.passed = quorum and ok if results.uses_area else None
    else:  # custom
        results.quorum_met = _at_least(n, results.eligible,
                                       Fraction(ballot.quorum_pct or 0) / 100)
        for r in options:
            r.passed = results.quorum_met and _at_least(
                r.votes, n, Fraction(ballot.threshold_pct or 0) / 100)


def profile(ballot: Ballot) -> list[tuple[int, int]]:
    """(pattern, number of papers) for each distinct set of choices; bit i is option position i.
    Papers that chose nothing count too: they hold a share of the budget."""
    bit = literal(1, BigInteger).op("<<")(BallotOption.position)
    per_paper = (select(BallotPaper.id, func.coalesce(func.sum(bit), 0).label("pattern"))
                 .outerjoin(BallotMark, BallotMark.paper_id == BallotPaper.id)
                 .outerjoin(BallotOption, BallotOption.id == BallotMark.option_id)
                 .where(BallotPaper.ballot_id == ballot.id)
                 .group_by(BallotPaper.id).subquery())
    return [(int(p), n) for p, n in db.session.execute(
        select(per_paper.c.pattern, func.count()).group_by(per_paper.c.pattern))]


def tie_order(votes: dict[int, int]):
    """The one tie rule of both budget methods: where two proposals are level, the one with more
    votes goes first, then the cheaper one, then the one listed first on the ballot."""
    return lambda o: (-votes.get(o.id, 0), o.cost, o.position)


def greedy(options: list[BallotOption], votes: dict[int, int], budget: Decimal,
           funded: list | tuple = ()) -> list:
    """Most votes first, skipping what no longer fits: what most cities do. Given projects
    already funded, it spends only what they leave."""
    chosen, left = [], budget - sum((o.cost for o in funded), ZERO)
    for option in sorted(options, key=tie_order(votes)):
        if option not in funded and votes.get(option.id, 0) and option.cost <= left:
            chosen.append(option)
            left -= option.cost
    return chosen


@dataclass
class EqualShares:
    """What the Method of Equal Shares funds, and how its completion went."""
    funded: list  # in the order funded: the method's own, then those from what it left
    completed: list  # funded from what the method left, most votes first
    plain: list  # what the method funds with the plain share, before any completion
    voters: int
    share: Fraction  # each voter's share of the budget: budget / voters
    final_share: Fraction  # the share after the "add 1" completion raised it
    plain_cost: Decimal  # what the method spends with the plain share
    exhausted: bool  # the raise stopped because nothing more would fit, not by overspending

    @property
    def by_method(self) -> list:
        """What the method itself funds, with the share as the completion raised it."""
        return self.funded[:len(self.funded) - len(self.completed)]

    @property
    def raised(self) -> bool:
        return self.final_share != self.share

    @property
    def cost(self) -> Decimal:
        return sum((o.cost for o in self.funded), ZERO)

    @property
    def start(self) -> Decimal:
        """Each voter's plain share, in yuan to the fen."""
        return _yuan(self.share)

    @property
    def end(self) -> Decimal:
        return _yuan(self.final_share)


def _yuan(amount: Fraction) -> Decimal:
    return (Decimal(amount.numerator) / Decimal(amount.denominator)).quantize(Decimal("0.01"))


# Relative tolerance of the budget methods' comparisons: amounts are floats, and two that agree
# to nine digits are equal (a tie), as they are in exact arithmetic on real money.
EPS = 1e-9


def _equal_shares_run(options: list, groups: list[tuple[int, int]], votes: dict[int, int],
                      share: float, supporters: dict[int, list[int]]) -> list:
    """One run of the Method of Equal Shares with cost utilities. Each group of voters who chose
    the same proposals starts with `share` each. A proposal can be bought when its supporters can
    pay its cost together, each paying an equal part, or all they have left if that is less; the
    proposal whose supporters pay the least per yuan of its cost (the largest payment divided by
    the cost) goes first, ties as `tie_order` says."""
    money = [share] * len(groups)
    cost = {o.id: float(o.cost) for o in options}
    order = tie_order(votes)
    keys = {o.id: order(o) for o in options}
    key = lambda o: keys[o.id]  # noqa: E731
    live = {o for o in options if votes.get(o.id, 0)}
    # A proposal's price per yuan only grows as voters spend: the last one seen is a lower bound.
    bound = {o.id: 1 / votes[o.id] for o in live}
    funded = []
    while live:
        best = None
        for option in sorted(live, key=lambda o: (bound[o.id], key(o))):
            if best is not None and bound[option.id] > best[0] * (1 + EPS):
                break
            rho = _price(cost[option.id], supporters[option.id], groups, money,
                         votes[option.id])
            if rho is None:  # its supporters can no longer pay for it
                live.discard(option)
                continue
            ratio = bound[option.id] = rho / cost[option.id]
            if best is None or ratio < best[0] * (1 - EPS) or (
                    ratio <= best[0] * (1 + EPS) and key(option) < key(best[1])):
                best = (ratio, option, rho)
        if best is None:
            break
        _ratio, option, rho = best
        funded.append(option)
        live.discard(option)
        for g in supporters[option.id]:
            money[g] = max(money[g] - rho, 0.0) if money[g] > rho * (1 + EPS) else 0.0
    return funded


def _price(cost: float, supporters: list[int], groups: list[tuple[int, int]],
           money: list[float], count: int) -> float | None:
    """The most any supporter pays when the cost is split equally, those with less paying all
    they have; None when together they cannot pay it."""
    if sum(money[g] * groups[g][1] for g in supporters) < cost * (1 - EPS):
        return None
    left = cost
    for g in sorted(supporters, key=money.__getitem__):
        if money[g] * count >= left * (1 - EPS):
            return left / count
        left -= money[g] * groups[g][1]
        count -= groups[g][1]
    return money[g]  # what is left is within rounding of nothing: all pay what they have


def _same_purchases_until(options: list, groups: list[tuple[int, int]], votes: dict[int, int],
                          share: float, supporters: dict[int, list[int]]) -> float:
    """The share below which `_equal_shares_run` buys what it buys at `share`: the run again,
    with every amount it computes kept as a line in the share (a + b * share) along the way
    the run takes at `share`, and every comparison it makes noting the share where its two
    sides cross. Until the nearest such crossing above `share`, the run decides everything the
    same way, so it buys the same. Two sides that meet at `share` itself (or within rounding
    of it) and part above it, a tie about to break, count as a crossing at `share`: the raise
    then takes its next yuan as before."""
    nearest = math.inf
    now = share - (abs(share) + 1) * EPS  # crossings from here on are not behind the run

    def below(x: tuple[float, float], y: tuple[float, float]) -> bool:
        nonlocal nearest
        slope = x[1] - y[1]
        if slope:
            crossing = (y[0] - x[0]) / slope
            if crossing >= now:
                nearest = min(nearest, max(crossing, share))
        return x[0] + x[1] * share < y[0] + y[1] * share

    def times(x: tuple[float, float], k: float) -> tuple[float, float]:
        return x[0] * k, x[1] * k

    def order(items: list, line) -> list:
        # A sorted order changes first between neighbours: note where each pair would swap.
        ranked = sorted(items, key=lambda item: line(item)[0] + line(item)[1] * share)
        for first, second in zip(ranked, ranked[1:]):
            below(line(first), line(second))
        return ranked

    def price(cost: float, chosen_by: list[int], count: int) -> tuple[float, float] | None:
        total = (sum(money[g][0] * groups[g][1] for g in chosen_by),
                 sum(money[g][1] * groups[g][1] for g in chosen_by))
        if below(total, (cost * (1 - EPS), 0.0)):
            return None
        left = (cost, 0.0)
        for g in order(chosen_by, money.__getitem__):
            if not below(times(money[g], count), times(left, 1 - EPS)):
                return left[0] / count, left[1] / count
            left = (left[0] - money[g][0] * groups[g][1], left[1] - money[g][1] * groups[g][1])
            count -= groups[g][1]
        return money[g]

    money = [(0.0, 1.0)] * len(groups)
    cost = {o.id: float(o.cost) for o in options}
    tie = tie_order(votes)
    keys = {o.id: tie(o) for o in options}
    live = {o for o in options if votes.get(o.id, 0)}
    bound = {o.id: (1 / votes[o.id], 0.0) for o in live}
    while live:
        best = None
        by_bound = sorted(live, key=lambda o: (bound[o.id][0] + bound[o.id][1] * share,
                                               keys[o.id]))
        for first, second in zip(by_bound, by_bound[1:]):
            below(bound[first.id], bound[second.id])
        for option in by_bound:
            if best is not None and below(times(best[0], 1 + EPS), bound[option.id]):
                break
            rho = price(cost[option.id], supporters[option.id], votes[option.id])
            if rho is None:
                live.discard(option)
                continue
            ratio = bound[option.id] = times(rho, 1 / cost[option.id])
            if best is None or below(ratio, times(best[0], 1 - EPS)) or (
                    not below(times(best[0], 1 + EPS), ratio)
                    and keys[option.id] < keys[best[1].id]):
                best = (ratio, option, rho)
        if best is None:
            break
        _ratio, option, rho = best
        live.discard(option)
        for g in supporters[option.id]:
            money[g] = (money[g][0] - rho[0], money[g][1] - rho[1]) \
                if below(times(rho, 1 + EPS), money[g]) else (0.0, 0.0)
    return nearest


def equal_shares(options: list[BallotOption], patterns: list[tuple[int, int]],
                 budget: Decimal) -> EqualShares:
    """The Method of Equal Shares with the completion equalshares.net recommends: the budget is
    split equally among the voters (those who chose nothing too), and a project is funded only
    by the shares of the voters who chose it. The plain method often leaves money unspent, so
    each voter's share is raised by 1 yuan at a time ("add 1") while what the method buys still
    fits the budget, stopping once nothing more that anyone chose would fit. Whatever is then
    left goes to the other proposals, most votes first, as the greedy column does.

    `patterns` is (pattern, number of voters) with bit i for the option at position i. The
    raise does not run the method once per yuan (with few voters and a budget of millions that
    took seconds to minutes): between the shares where the method's purchases change it would
    buy the same, so the raise goes straight on to a yuan short of the next such share
    (`_same_purchases_until`). The outcome of a profile is remembered all the same (a closed
    ballot's results are read many times)."""
    by_id = {o.id: o for o in options}
    funded, completed, plain, voters, share, final, done = _equal_shares(
        tuple((o.id, o.cost, o.position) for o in options), tuple(sorted(patterns)), budget)
    pick = lambda ids: [by_id[i] for i in ids]  # noqa: E731
    return EqualShares(pick(funded), pick(completed), pick(plain), voters, share, final,
                       sum((by_id[i].cost for i in plain), ZERO), done)


@dataclass(frozen=True)
class _Option:
    id: int
    cost: Decimal
    position: int


@lru_cache(maxsize=64)
def _equal_shares(options: tuple[tuple[int, Decimal, int], ...],
                  patterns: tuple[tuple[int, int], ...], budget: Decimal) -> tuple:
    options = [_Option(*o) for o in options]
    groups = [(p, n) for p, n in patterns if n]
    voters = sum(n for _p, n in groups)
    votes = {o.id: sum(n for p, n in groups if p >> o.position & 1) for o in options}
    if not voters:
        return (), (), (), 0, Fraction(0), Fraction(0), True
    share = Fraction(budget) / voters
    chosen = [o for o in options if votes[o.id]]
    supporters = {o.id: [g for g, (pattern, _n) in enumerate(groups)
                         if pattern >> o.position & 1] for o in options}

    def exhausted(funded: list) -> bool:
        left = budget - sum((o.cost for o in funded), ZERO)
        return not any(o.cost <= left for o in chosen if o not in funded)

    funded = _equal_shares_run(options, groups, votes, float(share), supporters)
    plain, final = funded, share
    while not (done := exhausted(funded)):
        # Raised 1 yuan at a time, the run buys the same until its share nears the next
        # crossing: go there at once, in whole yuan, stopping a yuan short of it.
        until = _same_purchases_until(options, groups, votes, float(final), supporters)
        if not math.isinf(until):
            final += max(math.floor((until - float(final)) * (1 - EPS)) - 1, 0)
        more = _equal_shares_run(options, groups, votes, float(final + 1), supporters)
        if sum((o.cost for o in more), ZERO) > budget:
            break
        funded, final = more, final + 1
    completed = greedy(options, votes, budget, funded)
    ids = lambda chosen: tuple(o.id for o in chosen)  # noqa: E731
    return ids(funded + completed), ids(completed), ids(plain), voters, share, final, done
