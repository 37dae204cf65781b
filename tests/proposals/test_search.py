"""Finding proposals by words of their site or title, Chinese included, through the full-text
index (SQLite FTS5, PostgreSQL tsvector)."""
from __future__ import annotations

import re

from participation.policy import Role
from participation.search import query_terms, terms
from tests.conftest import client_for, post
from tests.proposals.test_proposals import propose, setup


def titles(page: str) -> list[str]:
    return re.findall(r'<h2><a href="[^"]+">([^<]+)</a></h2>', page)


def test_chinese_words_are_found_inside_longer_text(app, factory):
    community, people, consultation = setup(app, factory)
    lin = client_for(app, people["lin"])
    for title, site in [("座椅", "东门加装长椅处"), ("连廊", "南侧长廊"), ("椅子", "北门椅子旁"),
                        ("Bench", "Gate 2 AND more")]:
        assert propose(lin, community, consultation, title=title, site=site).status_code == 303
    url = f"/c/{community.id}/proposals?site="
    assert titles(lin.get(url + "长椅").get_data(as_text=True)) == ["座椅"]
    assert sorted(titles(lin.get(url + "椅").get_data(as_text=True))) == ["座椅", "椅子"]
    assert titles(lin.get(url + "gate 2").get_data(as_text=True)) == ["Bench"]
    # Words the index would read as operators, and text with nothing to index, are only text.
    assert titles(lin.get(url + "AND").get_data(as_text=True)) == ["Bench"]
    assert titles(lin.get(url + "%").get_data(as_text=True)) == []
    assert titles(lin.get(url + '"').get_data(as_text=True)) == []


def test_terms_are_characters_and_pairs_of_chinese_and_words_of_other_scripts():
    assert terms("加装长椅", "Gate-2") == "加 装 长 椅 加装 装长 长椅 gate 2"
    assert query_terms("长椅") == ["长椅"]
    assert query_terms("3号楼") == ["3", "号楼"]
    assert query_terms("椅") == ["椅"]


def test_the_planner_finds_the_merge_target_by_search_with_or_without_javascript(app, factory):
    community, people, consultation = setup(app, factory)
    lin = client_for(app, people["lin"])
    other = factory.consultation(community)
    ids = {title: int(propose(lin, community, c, title=title, site=site)
                      .headers["Location"].rsplit("/", 1)[1])
           for title, site, c in [("加装长椅", "3号楼", consultation),
                                  ("长椅换新", "5号楼", consultation),
                                  ("别处的长椅", "3号楼", other),
                                  ("凉亭", "中心花园", consultation)]}
    planner = client_for(app, people["planner"])
    page = f"/c/{community.id}/proposals/{ids['加装长椅']}"
    before = planner.get(page).get_data(as_text=True)
    assert 'name="merge_q"' in before and 'name="target_id"' not in before  # nothing listed yet
    # Without JavaScript the search form reloads the page with what it found.
    found = planner.get(f"{page}/merge?merge_q=长椅")
    assert found.status_code == 303 and found.headers["Location"].endswith("#merge")
    html = planner.get(found.headers["Location"]).get_data(as_text=True)
    offered = re.findall(r'name="target_id"[^>]*value="(\d+)"', html)
    # Same consultation only, never the proposal itself.
    assert offered == [str(ids["长椅换新"])]
    assert 'value="长椅"' in html  # the search box keeps what was typed
    # With htmx, the fragment alone, its count said in the live region.
    fragment = planner.get(f"{page}/merge?merge_q=%23{ids['凉亭']}",
                           headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'id="live-status"' in fragment
    assert re.findall(r'name="target_id"[^>]*value="(\d+)"', fragment) == [str(ids["凉亭"])]
    nothing = planner.get(f"{page}/merge?merge_q=游泳池",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "游泳池" in nothing and 'name="target_id"' not in nothing
    # Residents neither see the search nor may use it.
    assert 'name="merge_q"' not in lin.get(page).get_data(as_text=True)
    assert lin.get(f"{page}/merge?merge_q=长椅").status_code == 403


def test_the_support_count_follows_every_support_added_moved_or_removed(app, factory):
    from sqlalchemy import delete, func, select

    from participation.accounts.models import User
    from participation.extensions import db
    from proposals.models import Proposal, Support

    community, people, consultation = setup(app, factory)
    lin, wang = client_for(app, people["lin"]), client_for(app, people["wang"])
    first = int(propose(lin, community, consultation, title="长椅").headers["Location"]
                .rsplit("/", 1)[1])
    second = int(propose(wang, community, consultation, title="座椅").headers["Location"]
                 .rsplit("/", 1)[1])
    extra = factory.user(community, Role.VERIFIED)
    for client, pid in ((wang, first), (lin, second), (wang, second),
                        (client_for(app, extra), second)):
        url = f"/c/{community.id}/proposals/{pid}"
        post(client, f"{url}/support", page=url)
    url = f"/c/{community.id}/proposals/{second}"
    post(wang, f"{url}/support/withdraw", page=url)

    def counts():
        with app.app_context():
            kept = dict(db.session.execute(select(Proposal.id, Proposal.support_count)).all())
            real = dict(db.session.execute(select(Support.proposal_id, func.count())
                                           .group_by(Support.proposal_id)).all())
            return {pid: kept[pid] for pid in (first, second)}, \
                {pid: real.get(pid, 0) for pid in (first, second)}

    assert counts() == ({first: 1, second: 2}, {first: 1, second: 2})
    post(client_for(app, people["planner"]), f"{url}/merge",
         {"target_id": str(first), "confirm": "y"}, page=url)
    assert counts() == ({first: 3, second: 0}, {first: 3, second: 0})
    with app.app_context():  # an account removed takes its supports with it
        db.session.execute(delete(User).where(User.id == extra.id))
        db.session.commit()
    assert counts() == ({first: 2, second: 0}, {first: 2, second: 0})
    assert "2 人支持" in lin.get(f"/c/{community.id}/proposals?sort=supported") \
        .get_data(as_text=True)
