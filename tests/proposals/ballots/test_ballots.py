"""Ballots: the planner's rules and their lock, voting (open and secret, per resident and per
household), paper ballots, and results under each decision preset."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select, text, update

from participation import clock
from participation.accounts.models import User
from participation.audit.models import AuditEvent
from participation.clock import utcnow
from participation.consultations.models import Consultation, Phase
from participation.extensions import db
from participation.policy import Role
from proposals.ballots.models import Ballot, BallotMark, BallotPaper, BallotVoter
from proposals.models import Proposal
from tests.conftest import click_together, login, phases_form, post


class Vote:
    """A community with a consultation whose vote phase runs now, and shortlisted proposals."""

    def __init__(self, app, factory, households=4, area=Decimal("80"), titles=None):
        self.app, self.factory = app, factory
        self.community = factory.community()
        self.households = [factory.household(self.community, room=f"{100 + i}",
                                             floor_area=area) for i in range(households)]
        self.voters = [factory.user(self.community, Role.VERIFIED, household=h,
                                    display_name=f"住户{i}")
                       for i, h in enumerate(self.households)]
        self.planner = factory.user(self.community, Role.PLANNER)
        self.committee = factory.user(self.community, Role.COMMITTEE)
        now = utcnow()
        with app.app_context():
            c = Consultation(community_id=self.community.id, template="micro_space",
                             title="口袋公园")
            c.phases.append(Phase(kind="collect", starts_at=now - timedelta(days=20),
                                  ends_at=now - timedelta(days=1)))
            c.phases.append(Phase(kind="vote", starts_at=now - timedelta(days=1),
                                  ends_at=now + timedelta(days=6)))
            db.session.add(c)
            db.session.flush()
            self.consultation_id, self.phase_id = c.id, c.phases[1].id
            self.proposals, self.costs = [], {}
            for title, cost in (titles or [("长椅", 8000), ("凉亭", 30000), ("花坛", 5000)]):
                p = Proposal(consultation_id=c.id, author_id=self.voters[0].id, title=title,
                             category="other", site="3号楼后", status="accepted",
                             estimated_cost=Decimal(cost), submitted_at=now)
                db.session.add(p)
                db.session.flush()
                self.proposals.append(p.id)
                self.costs[f"cost-{p.id}"] = str(cost)
            db.session.commit()

    def client(self, user):
        client = self.app.test_client()
        login(client, user)
        return client

    @property
    def new_url(self):
        return f"/c/{self.community.id}/consultations/{self.consultation_id}/ballots/new"

    def setup(self, **rules):
        form = {"title": "口袋公园投票", "phase_id": str(self.phase_id), "method": "approval",
                "max_choices": "2", "eligibility": "resident", "secrecy": "open",
                "preset": "advisory", "option": [str(p) for p in self.proposals],
                **self.costs, **rules}
        planner = self.client(self.planner)
        response = post(planner, self.new_url, form, page=self.new_url)
        assert response.status_code == 303, re.findall(r'class="error"[^>]*>([^<]+)',
                                                      response.get_data(as_text=True))
        self.ballot_id = int(response.headers["Location"].rsplit("/", 1)[1])
        with self.app.app_context():
            # Option ids in the order of self.proposals (the ballot lists them by title).
            by_proposal = {o.proposal_id: o.id
                           for o in db.session.get(Ballot, self.ballot_id).options}
            self.options = [by_proposal[p] for p in self.proposals]
        return self.ballot_id

    @property
    def url(self):
        return f"/c/{self.community.id}/ballots/{self.ballot_id}"

    def vote(self, client, *choices, none=False):
        data = {"option": [str(self.options[i]) for i in choices]}
        if none:
            data["none"] = "1"
        return post(client, self.url + "/vote", data, page=self.url)

    def results(self, client=None):
        response = (client or self.client(self.planner)).get(self.url + "/results")
        assert response.status_code == 200
        return response.get_data(as_text=True)


def row(page: str, title: str) -> list[str]:
    """The cells of a results table row, as text."""
    match = re.search(r"<tr><th scope=\"row\"[^>]*><a [^>]+>" + re.escape(title) + r"</a></th>(.*?)</tr>",
                      page, re.S)
    assert match, title
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                   match.group(1), re.S)]


def test_open_approval_ballot_voters_change_their_vote_and_rules_lock(app, factory):
    v = Vote(app, factory)
    v.setup()
    first, second = v.client(v.voters[0]), v.client(v.voters[1])
    assert v.vote(first, 0, 1).status_code == 303
    assert v.vote(second, 0).status_code == 303
    assert v.vote(second, 2).status_code == 303  # changes their mind
    page = second.get(v.url).get_data(as_text=True)
    assert "您已投票" in page or "You have voted" in page
    # Voters read their own words, not the planner's menu ("k is set below").
    rules = dict(re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", page))
    assert rules["投票方式"] == "最多选择 2 项提议"
    assert re.search(r'value="%d" checked' % v.options[2], page)  # their current choice
    results = v.results()
    assert row(results, "长椅")[:2] == ["1", "50%"]
    assert row(results, "凉亭")[0] == "1" and row(results, "花坛")[0] == "1"
    assert "4 位已认证居民中 2 位参与" in results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BallotVoter)) == 2
        assert db.session.scalar(select(func.count()).select_from(BallotPaper)) == 2
    # Too many choices are refused in the voter's language, keeping what they ticked.
    response = v.vote(first, 0, 1, 2)
    assert response.status_code == 422 and "最多选择 2 项" in response.get_data(as_text=True)
    # The first ballot locked the rules.
    planner = v.client(v.planner)
    edit = planner.get(v.url + "/edit")
    assert edit.status_code == 303
    assert "投票已经开始" in planner.get(v.url).get_data(as_text=True)
    response = post(planner, v.url + "/edit", {"title": "改规则", "phase_id": str(v.phase_id),
                                               "method": "single", "eligibility": "resident",
                                               "secrecy": "open", "preset": "advisory",
                                               "option": [str(p) for p in v.proposals]},
                    page=v.url)
    assert response.status_code == 303
    with app.app_context():
        ballot = db.session.get(Ballot, v.ballot_id)
        assert ballot.method == "approval" and ballot.title == "口袋公园投票"


def test_rules_are_checked_and_the_form_keeps_what_was_typed(app, factory):
    v = Vote(app, factory)
    planner = v.client(v.planner)
    form = {"title": "预算投票", "phase_id": str(v.phase_id), "method": "budget",
            "eligibility": "resident", "secrecy": "secret", "preset": "civil_major",
            "option": [str(v.proposals[0])], f"cost-{v.proposals[0]}": ""}
    response = post(planner, v.new_url, form, page=v.new_url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "预算投票" in page  # kept
    assert "请填写要分配的预算" in page  # the budget is missing
    assert "《民法典》第二百七十八条" in page  # art. 278 needs open, per household
    form.update(budget="5000", preset="advisory")
    page = post(planner, v.new_url, form, page=v.new_url).get_data(as_text=True)
    assert "每个提议都需要填写费用" in page and 'value="5000' in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_secret_ballot_keeps_no_link_between_voter_and_choice(app, factory):
    v = Vote(app, factory)
    v.setup(secrecy="secret")
    clients = [v.client(u) for u in v.voters[:3]]
    for client, choice in zip(clients, (0, 1, 1), strict=True):
        assert v.vote(client, choice).status_code == 303
    again = v.vote(clients[0], 2)
    assert again.status_code == 422
    assert "无记名投票一经投出不能更改" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BallotVoter)) == 3
        papers = db.session.execute(select(BallotPaper)).scalars().all()
        assert len(papers) == 3 and all(p.voter_id is None and p.secret for p in papers)
        # What was voted holds no user, household, voter or time, in any column...
        for table in ("ballot_paper", "ballot_mark"):
            columns = {c["name"] for c in inspect(db.session.connection()).get_columns(table)}
            assert not columns & {"user_id", "household_id", "created_at", "cast_at"}, table
        # ...and no other table links a voter to a paper: only ballot_paper.voter_id could.
        linking = [(t.name, fk.parent.name) for t in db.metadata.sorted_tables
                   for fk in t.foreign_keys if fk.column.table.name == "ballot_voter"]
        assert linking == [("ballot_paper", "voter_id")]
        # The audit trail records no vote either.
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action.like("ballot.cast%"))) == 0
        # Papers are not numbered in voting order.
        assert sorted(p.id for p in papers) != [p.id for p in papers] or len(
            {len(p.id) for p in papers}) == 1 and all(len(p.id) == 32 for p in papers)
    # Nobody watches a secret ballot being filled; the results come when voting ends.
    assert v.client(v.planner).get(v.url + "/results").status_code == 303
    with pytest.MonkeyPatch.context() as patch:
        later = utcnow() + timedelta(days=10)  # after the vote and the days for paper ballots
        patch.setattr(clock, "now", lambda: later)
        results = v.results()
    assert row(results, "凉亭")[0] == "2" and row(results, "长椅")[0] == "1"
    # Turnout by channel, but no per-option split that could single out the few paper voters.
    assert "<dt>纸质投票</dt>" in results and '<th scope="col">纸质投票</th>' not in results


def test_one_ballot_per_household_online_or_on_paper(app, factory):
    v = Vote(app, factory)
    partner = factory.user(v.community, Role.VERIFIED, household=v.households[0])
    v.setup(eligibility="household", method="single")
    first = v.client(v.voters[0])
    assert v.vote(first, 0).status_code == 303
    response = v.vote(v.client(partner), 1)
    assert response.status_code == 422 and "家中另一位成员已经投票" in response.get_data(
        as_text=True)
    assert v.vote(first, 1).status_code == 303  # the household's voter may change it

    committee = v.client(v.committee)
    paper = f"{v.url}/paper"
    response = post(committee, paper, {"collected_by": "3号楼楼长",
                                       "collected_on": utcnow().date().isoformat()}, page=paper)
    batch_url = response.headers["Location"]
    h0, h1 = v.households[0], v.households[1]
    entry = {"building": h0.building, "unit": h0.unit, "room": h0.room,
             "option": [str(v.options[0])]}
    response = post(committee, batch_url, entry, page=batch_url)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "已经投过票" in page
    assert f'value="{h0.room}"' in page  # the address is kept
    entry.update(room="999")
    response = post(committee, batch_url, entry, page=batch_url)
    assert "名册中没有这一户" in response.get_data(as_text=True)
    entry.update(building="1", unit="1", room=h1.room)  # "1" finds 1号楼, as people type it
    assert post(committee, batch_url, entry, page=batch_url).status_code == 303
    # That household can no longer vote online.
    response = v.vote(v.client(v.voters[1]), 1)
    assert response.status_code == 422 and "纸质选票已经计入" in response.get_data(as_text=True)
    assert h1.address in committee.get(batch_url).get_data(as_text=True)

    results = v.results()
    assert row(results, "长椅")[:4] == ["1", "50%", "0", "1"]  # online, paper
    assert row(results, "凉亭")[:4] == ["1", "50%", "1", "0"]
    with app.app_context():
        audit = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "ballot.paper_entry")).all()
        assert [e.details["household"] for e in audit] == [h1.address]
        assert "option" not in str(audit[0].details)


def test_resident_ballot_paper_entry_names_a_verified_resident(app, factory):
    v = Vote(app, factory)
    v.setup()
    committee = v.client(v.committee)
    paper = f"{v.url}/paper"
    batch_url = post(committee, paper, {"collected_by": "网格员",
                                        "collected_on": utcnow().date().isoformat()},
                     page=paper).headers["Location"]
    h = v.households[2]
    entry = {"building": h.building, "unit": h.unit, "room": h.room,
             "option": [str(v.options[1])], "login": "13900000000"}
    response = post(committee, batch_url, entry, page=batch_url)
    assert response.status_code == 422 and "没有使用该手机号或邮箱的已认证居民" in \
        response.get_data(as_text=True)
    entry["login"] = v.voters[2].phone
    assert post(committee, batch_url, entry, page=batch_url).status_code == 303
    response = v.vote(v.client(v.voters[2]), 0)  # counted on paper already
    assert response.status_code == 422
    assert "您的纸质选票已经计入，不能再在线投票" in response.get_data(as_text=True)


def test_simultaneous_ballots_from_one_voter_count_once(app, factory):
    v = Vote(app, factory)
    v.setup(secrecy="secret")
    client = v.client(v.voters[0])
    statuses = click_together(app, client, v.url + "/vote", v.url,
                              data={"option": str(v.options[0])})
    assert set(statuses) <= {303, 422} and statuses.count(303) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BallotVoter)) == 1
        assert db.session.scalar(select(func.count()).select_from(BallotMark)) == 1


def test_budget_ballot_greedy_and_equal_shares_on_the_published_example(app, factory):
    """equalshares.net's worked example: budget 1,100 and 11 voters."""
    projects = [("自行车道", 700), ("健身角", 400), ("小公园", 250), ("儿童游乐场", 200),
                ("儿童图书角", 100)]
    v = Vote(app, factory, households=11, titles=projects)
    # The example is an approval vote (each voter approves any projects) with a budget.
    v.setup(method="approval", max_choices="5", budget="1100")
    approvals = [{0, 1}, {0, 1, 2}, {0, 1}, {0, 1, 2}, {0, 1, 2}, {0, 1}, {2, 3, 4}, {3},
                 {3, 4}, {2, 3, 4}, {0}]
    for voter, chosen in zip(v.voters, approvals, strict=True):
        assert v.vote(v.client(voter), *sorted(chosen)).status_code == 303
    page = v.results()
    greedy = re.search(r'id="greedy-h".*?<ul>(.*?)</ul>', page, re.S).group(1)
    mes = re.search(r'id="mes-h".*?<ul>(.*?)</ul>', page, re.S).group(1)
    names = lambda html: re.findall(r"<li>(\S+) ·", html)  # noqa: E731
    assert names(greedy) == ["自行车道", "健身角"]
    assert names(mes) == ["自行车道", "儿童游乐场", "儿童图书角"]
    assert "1,100" in page and "1,000" in page  # what each way spends
    assert row(page, "自行车道")[0] == "7" and row(page, "儿童图书角")[0] == "3"


def english(v: Vote):
    """The planner reads the results in English."""
    with v.app.app_context():
        db.session.get(User, v.planner.id).locale = "en"
        db.session.commit()


def budget_text(page: str) -> str:
    section = page[page.index('<h2>What the budget funds</h2>'):]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section))


def test_budget_results_state_the_tie_rule_what_is_left_and_that_no_completion_ran(app,
                                                                                   factory):
    projects = [("自行车道", 700), ("健身角", 400), ("小公园", 250), ("儿童游乐场", 200),
                ("儿童图书角", 100)]
    v = Vote(app, factory, households=11, titles=projects)
    v.setup(method="approval", max_choices="5", budget="1100")
    approvals = [{0, 1}, {0, 1, 2}, {0, 1}, {0, 1, 2}, {0, 1, 2}, {0, 1}, {2, 3, 4}, {3},
                 {3, 4}, {2, 3, 4}, {0}]
    for voter, chosen in zip(v.voters, approvals, strict=True):
        assert v.vote(v.client(voter), *sorted(chosen)).status_code == 303
    english(v)
    text = budget_text(v.results())
    assert "the one with more votes goes first, then the cheaper one, then the one listed " \
        "first on the ballot. Both ways break ties by this one rule." in text
    # Greedy spends 1,100, equal shares 1,000 (see the published example).
    assert text.count("Left unspent: 0 yuan") == 1 and "Left unspent: 100 yuan" in text
    assert "each voter's share stayed at 100 yuan. Nothing more that anyone chose would fit " \
        "in what the method left, so no completion was needed." in text


def test_budget_results_say_how_far_the_shares_were_raised(app, factory):
    v = Vote(app, factory, titles=[("健身步道", 600), ("遮阳棚", 500), ("宠物角", 300)])
    v.setup(method="approval", max_choices="3", budget="1000")
    for voter in v.voters[:3]:
        assert v.vote(v.client(voter), 0).status_code == 303
    assert v.vote(v.client(v.voters[3]), 1, 2).status_code == 303
    english(v)
    page = v.results()
    text = budget_text(page)
    mes = re.search(r'id="mes-h".*?<ul>(.*?)</ul>', page, re.S).group(1)
    # With 250 yuan each, the lone voter cannot buy the 300 yuan corner; with 300 they can.
    assert re.findall(r"<li>(\S+) ·", mes) == ["健身步道", "宠物角"]
    assert "each voter's share was raised from 250 to 300 yuan; with the plain share the " \
        "method would have spent 600 yuan. Nothing more that anyone chose would fit in what " \
        "was left, so the raising stopped there." in text
    assert "Left unspent: 100 yuan" in text


def test_budget_results_spend_what_equal_shares_leaves_by_votes(app, factory):
    v = Vote(app, factory, households=2, titles=[("健身步道", 700), ("遮阳棚", 700)])
    v.setup(method="approval", max_choices="2", budget="1000")
    assert v.vote(v.client(v.voters[0]), 0).status_code == 303
    assert v.vote(v.client(v.voters[1]), 1).status_code == 303
    with app.app_context():
        first = min(db.session.get(Ballot, v.ballot_id).options, key=lambda o: o.position)
        title = first.proposal.title
    english(v)
    page = v.results()
    text = budget_text(page)
    # At 700 yuan each both voters could buy their project: 1,400 yuan, over the budget. The
    # share stops at 699, which buys nothing; the tie of votes and cost goes to the one listed
    # first, as in the greedy column.
    assert "raised from 500 to 699 yuan; with the plain share the method would have " \
        "spent 0 yuan. One yuan more for each voter would have bought more than the budget. " \
        "What was still left went to the proposals marked “from what was left”, most votes " \
        "first." in text
    mes = re.search(r'id="mes-h".*?<ul>(.*?)</ul>', page, re.S).group(1)
    greedy = re.search(r'id="greedy-h".*?<ul>(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<li>(\S+) ·", mes) == re.findall(r"<li>(\S+) ·", greedy) == [title]
    assert "(from what was left, by votes)" in mes
    assert text.count("Left unspent: 300 yuan") == 2


def test_budget_ballot_keeps_each_voter_within_the_budget(app, factory):
    v = Vote(app, factory)  # 长椅 8,000, 凉亭 30,000, 花坛 5,000 yuan
    v.setup(method="budget", budget="35000")
    client = v.client(v.voters[0])
    page = client.get(v.url).get_data(as_text=True)
    assert 'data-budget="35000.00"' in page and "running-total" in page
    over = v.vote(client, 0, 1)
    assert over.status_code == 422
    assert "您的选择共计 38,000 元，超出了 35,000 元的预算" in over.get_data(as_text=True)
    assert v.vote(client, 0, 2).status_code == 303
    page = v.results()
    assert "平等份额法" in page and "得票多者优先" in page
    mes = re.search(r'id="mes-h".*?</ul>', page, re.S).group(0)
    assert "<li>长椅 · 8,000 元</li>" in mes and "<li>花坛 · 5,000 元</li>" in mes
    assert "凉亭" not in mes


def test_civil_code_double_threshold_and_missing_area_warning(app, factory):
    # 3 households of 100 m² and one of 300 m²: headcount and area can disagree.
    v = Vote(app, factory, households=3, area=Decimal("100"))
    big = factory.household(v.community, room="901", floor_area=Decimal("300"))
    big_owner = factory.user(v.community, Role.VERIFIED, household=big)
    v.setup(eligibility="household", preset="civil_ordinary", method="approval",
            max_choices="3")
    # Three small households approve 长椅 (3 of 4 owners, 300 of 600 m² participating).
    for voter in v.voters:
        assert v.vote(v.client(voter), 0).status_code == 303
    assert v.vote(v.client(big_owner), 1).status_code == 303
    page = v.results()
    assert "600" in page  # the floor area that took part
    long_bench = row(page, "长椅")
    # More than half by headcount, not by area (voting still runs: "so far").
    assert long_bench[-2:] == ["300", "目前：未通过"]
    # Areas entered in the roster after voting opened do not change the register's.
    with app.app_context():
        from participation.communities.models import Household

        db.session.get(Household, big.id).floor_area = None
        db.session.commit()
    assert row(v.results(), "长椅")[-2:] == ["300", "目前：未通过"]


def test_an_art_278_result_with_an_area_missing_passes_nothing(app, factory):
    v = Vote(app, factory, households=3, area=Decimal("100"))
    unknown = factory.household(v.community, room="901")  # no floor area in the roster
    owner = factory.user(v.community, Role.VERIFIED, household=unknown)
    v.setup(eligibility="household", preset="civil_ordinary", method="approval",
            max_choices="3")
    for voter in [*v.voters, owner]:
        assert v.vote(v.client(voter), 0).status_code == 303
    page = v.results()
    # The result says it counts heads only ...
    assert "面积缺失" in page and "仅按人数" in page
    # ... and, the statute's test not applied, that nothing passes under art. 278.
    assert all(row(page, title)[-1] == "不是有效的第二百七十八条表决" for title in ("长椅", "凉亭", "花坛"))


def test_results_wait_for_the_end_of_the_vote_unless_shown_live(app, factory, monkeypatch):
    v = Vote(app, factory)
    v.setup()
    resident = v.client(v.voters[0])
    early = resident.get(v.url + "/results", follow_redirects=True).get_data(as_text=True)
    assert "结果将于" in early
    assert v.results(v.client(v.committee))  # the committee may watch an open ballot
    later = utcnow() + timedelta(days=7)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert "投票已结束" in resident.get(v.url).get_data(as_text=True)
    assert v.vote(resident, 0).status_code == 403
    assert resident.get(v.url + "/results").status_code == 200


@pytest.mark.parametrize("method", ["approval", "budget"])
def test_results_page_queries_do_not_grow_with_ballots(app, factory, count_queries, method):
    v = Vote(app, factory, households=2)
    extra = {"budget": "40000"} if method == "budget" else {}
    v.setup(method=method, **extra)
    planner = v.client(v.planner)

    def queries() -> int:
        planner.get(v.url + "/results")  # warm the session and caches
        with count_queries() as counter:
            assert planner.get(v.url + "/results").status_code == 200
        return counter.count

    few = queries()
    with app.app_context():
        ballot_id, options = v.ballot_id, v.options
        # 100,000 ballots, inserted by the database itself.
        db.session.execute(text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
            "INSERT INTO ballot_voter (ballot_id, voter_key, channel, cast_at) "
            "SELECT :b, 'x' || i, 'online', :t FROM n"), {"b": ballot_id, "t": utcnow()})
        db.session.execute(text(
            "INSERT INTO ballot_paper (id, ballot_id, secret, voter_id, channel) "
            "SELECT 'p' || id, ballot_id, false, id, 'online' FROM ballot_voter "
            "WHERE ballot_id = :b"), {"b": ballot_id})
        db.session.execute(text(
            "INSERT INTO ballot_mark (paper_id, option_id) SELECT id, :o FROM ballot_paper "
            "WHERE ballot_id = :b"), {"b": ballot_id, "o": options[0]})
        db.session.execute(text(
            "INSERT INTO ballot_mark (paper_id, option_id) SELECT id, :o FROM ballot_paper "
            "WHERE ballot_id = :b AND voter_id % 3 = 0"), {"b": ballot_id, "o": options[2]})
        db.session.commit()
    assert queries() == few
    page = v.results()
    assert row(page, "长椅")[0] == "100,000" and row(page, "花坛")[0] == "33,333"


def test_pages_of_a_ballot_in_english(app, factory):
    v = Vote(app, factory)
    v.setup(method="budget", budget="40000")
    with app.app_context():
        user = db.session.get(User, v.voters[0].id)
        user.locale = "en"
        db.session.commit()
    client = v.client(v.voters[0])
    page = client.get(v.url).get_data(as_text=True)
    assert "Choose proposals whose total cost fits the budget of 40,000 yuan" in page
    assert 'data-cost="8000.00"' in page
    consultation = client.get(f"/c/{v.community.id}/consultations/{v.consultation_id}")
    assert "口袋公园投票" in consultation.get_data(as_text=True)


def test_saving_phases_keeps_the_ballot_and_guards_its_vote_phase(app, factory):
    v = Vote(app, factory)
    v.setup()
    assert v.vote(v.client(v.voters[0]), 0).status_code == 303
    planner = v.client(v.planner)
    url = f"/c/{v.community.id}/consultations/{v.consultation_id}/phases"
    form = phases_form(planner.get(url).get_data(as_text=True))
    assert form["phases-1-phase_id"] == str(v.phase_id)
    assert (form["phases-0-kind"], form["phases-1-kind"]) == ("collect", "vote")
    assert not form["phases-2-starts_at"]  # the spare row
    # Unchanged: the ballot and its vote stay.
    response = post(planner, url, form, page=url)
    assert response.status_code == 303, re.findall(r"<p[^>]*>([^<]*)<", response.get_data(as_text=True))[-12:]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BallotVoter)) == 1
        assert db.session.get(Ballot, v.ballot_id).phase_id == v.phase_id

    def shifted(value: str, hours: int) -> str:
        from datetime import datetime

        moved = datetime.fromisoformat(value) + timedelta(hours=hours)
        return moved.strftime("%Y-%m-%dT%H:%M")

    # Moving the start of a vote under way is refused; running longer is fine.
    later_start = {**form, "phases-1-starts_at": shifted(form["phases-1-starts_at"], 1)}
    response = post(planner, url, later_start, page=url)
    assert "只能延长" in response.get_data(as_text=True)
    longer = {**form, "phases-1-ends_at": shifted(form["phases-1-ends_at"], 48)}
    assert post(planner, url, longer, page=url).status_code == 303
    # Removing the vote phase is refused.
    response = post(planner, url, {**longer, "phases-1-remove": "y"}, page=url)
    assert "不能删除" in response.get_data(as_text=True)
    # A second vote phase added later leaves the ballot where it was.
    extra = {**longer, "phases-2-kind": "vote",
             "phases-2-starts_at": shifted(longer["phases-1-ends_at"], 24),
             "phases-2-ends_at": shifted(longer["phases-1-ends_at"], 72)}
    assert post(planner, url, extra, page=url).status_code == 303
    with app.app_context():
        assert db.session.get(Ballot, v.ballot_id).phase_id == v.phase_id
        assert db.session.scalar(select(func.count()).select_from(Phase)) == 3
    # Once the vote is over it cannot be reopened.
    with pytest.MonkeyPatch.context() as patch:
        later = utcnow() + timedelta(days=30)
        patch.setattr(clock, "now", lambda: later)
        form = phases_form(planner.get(url).get_data(as_text=True))
        reopened = {**form, "phases-1-ends_at": shifted(form["phases-2-starts_at"], -1)}
        response = post(planner, url, reopened, page=url)
        assert "投票已经结束，其投票阶段不能再更改" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Ballot, v.ballot_id) is not None


def test_planner_mistakes_are_answered_in_the_form(app, factory):
    v = Vote(app, factory)
    first = v.setup()
    with app.app_context():
        c = db.session.get(Consultation, v.consultation_id)
        later = c.phases[1].ends_at
        c.phases.append(Phase(kind="vote", starts_at=later, ends_at=later + timedelta(days=3)))
        db.session.commit()
        second_phase = c.phases[-1].id
    v.setup(phase_id=str(second_phase), title="第二轮")
    planner = v.client(v.planner)
    edit = f"/c/{v.community.id}/ballots/{first}/edit"
    base = {"title": "改", "phase_id": str(second_phase), "method": "approval",
            "max_choices": "2", "eligibility": "resident", "secrecy": "open",
            "preset": "advisory", "option": [str(p) for p in v.proposals], **v.costs}
    page = post(planner, edit, base, page=edit).get_data(as_text=True)
    assert "这个投票阶段已经设置了投票" in page  # not a 500
    for cost in ("NaN", "0.001", "-5", "Infinity"):
        response = post(planner, edit, {**base, "phase_id": str(v.phase_id), "budget": "9000",
                                         f"cost-{v.proposals[0]}": cost}, page=edit)
        assert response.status_code == 200, cost
        assert "请以元为单位填写每项费用" in response.get_data(as_text=True), cost
    page = post(planner, edit, {**base, "phase_id": str(v.phase_id), "secrecy": "secret",
                                "results_live": "y"}, page=edit).get_data(as_text=True)
    assert "无记名投票只在投票结束时公布结果" in page
    page = post(planner, edit, {**base, "phase_id": str(v.phase_id), "method": "budget",
                                "budget": "9000"}, page=edit).get_data(as_text=True)
    assert "超过全部预算" in page  # 凉亭 costs 30,000


def test_paper_ballots_after_the_close_and_typed_as_people_type(app, factory, monkeypatch):
    v = Vote(app, factory)
    v.setup(eligibility="resident")
    committee = v.client(v.committee)
    paper = f"{v.url}/paper"
    response = post(committee, paper, {"collected_by": "楼长", "collected_on": "2030-01-01"},
                    page=paper)
    assert response.status_code == 422 and "投票期间收集" in response.get_data(as_text=True)
    batch_url = post(committee, paper, {"collected_by": "楼长",
                                        "collected_on": utcnow().date().isoformat()},
                     page=paper).headers["Location"]
    h = v.households[1]
    phone = v.voters[1].phone
    spaced = f"{phone[:3]} {phone[3:7]} {phone[7:]}"  # as written on the paper slip
    entry = {"building": "１", "unit": "１", "room": h.room, "login": spaced,
             "option": [str(v.options[0])], "none": "1"}
    response = post(committee, batch_url, entry, page=batch_url)
    assert response.status_code == 422 and "不能同时" in response.get_data(as_text=True)
    del entry["none"]
    # Two days after the close, within the days allowed for entering paper ballots.
    later = utcnow() + timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert post(committee, batch_url, entry, page=batch_url).status_code == 303
    page = v.results()
    assert "结果为初步结果" in page
    # Residents who open the results too early are told when they come.
    monkeypatch.setattr(clock, "now", lambda: later - timedelta(days=3))
    early = v.client(v.voters[0]).get(v.url + "/results")
    assert early.status_code == 303
    monkeypatch.setattr(clock, "now", lambda: later + timedelta(days=5))
    assert post(committee, batch_url, entry, page=batch_url).status_code == 403


def test_a_proposal_on_a_ballot_with_votes_keeps_its_answer(app, factory):
    v = Vote(app, factory)
    v.setup()
    assert v.vote(v.client(v.voters[0]), 0, 1).status_code == 303
    planner = v.client(v.planner)
    url = f"/c/{v.community.id}/proposals/{v.proposals[0]}"
    post(planner, url + "/review", {"status": "rejected", "reason": "太贵"}, page=url)
    with app.app_context():
        assert db.session.get(Proposal, v.proposals[0]).status == "accepted"
    assert "其答复在投票结束前保持不变" in planner.get(url).get_data(as_text=True)


def test_none_of_these_is_a_vote_and_shows_as_one(app, factory):
    v = Vote(app, factory)
    v.setup()
    client = v.client(v.voters[0])
    assert v.vote(client, none=True).status_code == 303
    page = client.get(v.url).get_data(as_text=True)
    assert re.search(r'name="none" value="1" checked', page)
    results = v.results()
    assert "4 位已认证居民中 1 位参与" in results and row(results, "长椅")[0] == "0"


def test_a_mistyped_paper_entry_is_shown_and_can_be_taken_back(app, factory):
    v = Vote(app, factory)
    v.setup(eligibility="household")
    committee = v.client(v.committee)
    paper = f"{v.url}/paper"
    batch_url = post(committee, paper, {"collected_by": "楼长",
                                        "collected_on": utcnow().date().isoformat()},
                     page=paper).headers["Location"]
    h = v.households[2]
    entry = {"building": h.building, "unit": h.unit, "room": h.room,
             "option": [str(v.options[1])]}
    assert post(committee, batch_url, entry, page=batch_url).status_code == 303
    page = committee.get(batch_url).get_data(as_text=True)
    assert f"{h.address} · " in page and "凉亭" in page  # what was marked, to check
    with app.app_context():
        voter_id = db.session.scalar(select(BallotVoter.id))
    remove = f"{batch_url}/{voter_id}/remove"
    # Without the confirming tick nothing happens.
    assert "请勾选" in post(committee, remove, page=batch_url,
                            follow_redirects=True).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BallotVoter)) == 1
    assert post(committee, remove, {"confirm": "1"}, page=batch_url).status_code == 303
    again = post(committee, remove, {"confirm": "1"}, page=batch_url, follow_redirects=True)
    assert again.status_code == 404  # nothing left to take back
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BallotVoter)) == 0
        assert db.session.scalar(select(func.count()).select_from(BallotMark)) == 0
        assert db.session.scalar(select(AuditEvent.details).where(
            AuditEvent.action == "ballot.paper_removed"))["household"] == h.address
    entry["option"] = [str(v.options[0])]  # entered again as the paper reads
    assert post(committee, batch_url, entry, page=batch_url).status_code == 303
    assert row(v.results(), "长椅")[:4] == ["1", "100%", "0", "1"]


def test_the_electorate_is_frozen_when_voting_opens(app, factory):
    """Turnout counts against the register taken when voting opened, not today's roster."""
    from participation.communities.models import Household, Membership

    v = Vote(app, factory)
    v.setup()
    for voter in v.voters[:3]:
        assert v.vote(v.client(voter), 0).status_code == 303
    assert "4 位已认证居民中 3 位参与" in v.results()
    # Three voters' memberships are revoked and a new resident is verified: the register holds.
    latecomer_home = factory.household(v.community, room="901")
    latecomer = factory.user(v.community, Role.VERIFIED, household=latecomer_home)
    with app.app_context():
        db.session.execute(update(Membership).where(
            Membership.user_id.in_([u.id for u in v.voters[:3]])).values(revoked_at=utcnow()))
        db.session.commit()
    page = v.results()
    assert "4 位已认证居民中 3 位参与" in page and "（75%）" in page or "(75%)" in page
    assert "投票开始时" in page  # the register's date is stated
    # The latecomer is not in the register: told so, and the committee may add them, audited.
    refused = v.vote(v.client(latecomer), 1)
    assert refused.status_code == 422 and "选民名册" in refused.get_data(as_text=True)
    committee = v.client(v.committee)
    added = post(committee, v.url + "/register", {
        "building": "1号楼", "unit": "1单元", "room": "901", "login": latecomer.login},
        page=v.url + "/paper")
    assert added.status_code == 303, added.get_data(as_text=True)[-800:]
    again = post(committee, v.url + "/register", {
        "building": "1号楼", "unit": "1单元", "room": "901", "login": latecomer.login},
        page=v.url + "/paper")
    assert again.status_code == 422 and "已在选民名册中" in again.get_data(as_text=True)
    assert v.vote(v.client(latecomer), 1).status_code == 303
    assert "5 位已认证居民中 4 位参与" in v.results()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "ballot.register_add")) == 1


def test_households_imported_mid_vote_do_not_move_the_quorum(app, factory):
    v = Vote(app, factory, households=4)
    v.setup(eligibility="household", preset="residents_meeting")
    for voter in v.voters[:3]:
        assert v.vote(v.client(voter), 0).status_code == 303
    assert row(v.results(), "长椅")[-1] == "目前：通过"  # 3 of 4 households: a quorum
    for room in range(10):  # the committee imports ten more households
        factory.household(v.community, room=f"20{room}")
    page = v.results()
    assert "4 户中 3 户参与" in page and row(page, "长椅")[-1] == "目前：通过"
