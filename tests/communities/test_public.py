"""Published content is public reading: anyone reads a community's page, consultations, topics,
proposals, published meeting records and published results; acting takes membership, and a
member not yet verified writes only where the community allows it."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from participation import clock
from participation.audit.models import AuditEvent
from participation.clock import utcnow
from participation.communities.models import Community
from participation.discussions.models import Comment
from participation.extensions import db
from participation.meetings.models import Meeting
from participation.policy import Role
from proposals.models import Proposal
from tests.conftest import client_for, comment, login, open_topic, post
from tests.proposals.ballots.test_ballots import Vote


def published_world(app, factory):
    community = factory.community()
    lin = factory.user(community, Role.VERIFIED, display_name="林阿婆")
    consultation = factory.consultation(community, title="口袋公园改造")
    topic = factory.topic(consultation, lin, title="座椅太少")
    now = utcnow()
    with app.app_context():
        db.session.add(Comment(topic_id=topic.id, author_id=lin.id, body="老人没地方坐"))
        submitted = Proposal(consultation_id=consultation.id, author_id=lin.id, title="加长椅",
                             category="other", site="3号楼后", status="evaluating",
                             submitted_at=now)
        draft = Proposal(consultation_id=consultation.id, author_id=lin.id, title="秘密草稿",
                         category="other", site="3号楼后", status="draft")
        published = Meeting(community_id=community.id, title="三月议事会", held_at=now,
                            place="活动室", published_at=now)
        unpublished = Meeting(community_id=community.id, title="未发布的会议", held_at=now,
                              place="活动室")
        db.session.add_all([submitted, draft, published, unpublished])
        db.session.commit()
        ids = {"submitted": submitted.id, "draft": draft.id, "meeting": published.id,
               "unpublished": unpublished.id}
    return community, consultation, topic, ids


def test_anyone_reads_published_pages_without_logging_in(app, factory):
    community, consultation, topic, ids = published_world(app, factory)
    reader = app.test_client()
    c = f"/c/{community.id}"
    pages = {
        c: community.name,
        f"{c}/consultations/{consultation.id}": "口袋公园改造",
        f"{c}/topics/{topic.id}": "老人没地方坐",
        f"{c}/proposals": "加长椅",
        f"{c}/proposals/{ids['submitted']}": "加长椅",
        f"{c}/meetings": "三月议事会",
        f"{c}/meetings/{ids['meeting']}": "三月议事会",
    }
    for url, text in pages.items():
        response = reader.get(url)
        assert response.status_code == 200, url
        assert text in response.get_data(as_text=True), url
    # Drafts and unpublished records stay with those who write them.
    assert reader.get(f"{c}/proposals/{ids['draft']}").status_code == 404
    assert reader.get(f"{c}/meetings/{ids['unpublished']}").status_code == 404
    assert "秘密草稿" not in reader.get(f"{c}/proposals").get_data(as_text=True)
    assert "未发布的会议" not in reader.get(f"{c}/meetings").get_data(as_text=True)


def test_anonymous_readers_are_offered_to_log_in_instead_of_the_actions(app, factory):
    community, consultation, topic, ids = published_world(app, factory)
    reader = app.test_client()
    c = f"/c/{community.id}"
    proposal_url = f"{c}/proposals/{ids['submitted']}"
    page = reader.get(proposal_url).get_data(as_text=True)
    assert "take-part" in page and "/login?next=" in page
    assert "支持</button>" not in page
    topic_page = reader.get(f"{c}/topics/{topic.id}").get_data(as_text=True)
    assert "take-part" in topic_page and 'name="body"' not in topic_page
    # Every action still needs an account: the reader is sent to log in.
    support = post(reader, f"{proposal_url}/support", page=proposal_url)
    assert support.status_code == 302 and support.headers["Location"].startswith("/login")
    posted = comment(reader, community, topic.id, "路过")
    assert posted.status_code == 302 and posted.headers["Location"].startswith("/login")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 1


def test_a_logged_in_visitor_is_offered_to_join_and_comes_back(app, factory):
    community, consultation, topic, ids = published_world(app, factory)
    visitor = client_for(app, factory.user())
    topic_url = f"/c/{community.id}/topics/{topic.id}"
    page = visitor.get(topic_url).get_data(as_text=True)
    assert f'action="/communities/{community.id}/join"' in page
    assert comment(visitor, community, topic.id, "路过").status_code == 403
    joined = post(visitor, f"/communities/{community.id}/join", {"next": topic_url},
                  page=topic_url)
    assert joined.status_code == 303 and joined.headers["Location"] == topic_url
    # Joined without an invite code: still not verified, so reading only, by default.
    page = visitor.get(topic_url).get_data(as_text=True)
    assert 'name="body"' not in page and "/redeem" in page
    assert comment(visitor, community, topic.id, "我也想要座椅").status_code == 403


def test_the_committee_lets_unverified_members_comment(app, factory, place, at):
    community, people, consultation_id = place
    committee = client_for(app, factory.user(community, Role.COMMITTEE))
    newcomer = client_for(app, factory.user(community, Role.RESIDENT, display_name="新居民"))
    from tests.conftest import START

    at(START + timedelta(days=1))
    topic_id = open_topic(client_for(app, people["lin"]), community, consultation_id)
    assert comment(newcomer, community, topic_id, "我也想要").status_code == 403
    settings = f"/c/{community.id}/settings"
    page = committee.get(settings).get_data(as_text=True)
    assert 'name="unverified_may_comment"' in page and "checked" not in page
    assert post(committee, settings, {"unverified_may_comment": "y"},
                page=settings).status_code == 303
    with app.app_context():
        assert db.session.get(Community, community.id).unverified_may_comment
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "community.settings"))
        assert event is not None and event.actor_id is not None
    assert comment(newcomer, community, topic_id, "我也想要").status_code == 303
    # Supporting and voting stay with verified residents whatever the setting.
    assert "checked" in committee.get(settings).get_data(as_text=True)
    resident = client_for(app, people["wang"])
    assert resident.get(settings).status_code == 403


def test_published_results_are_public_and_voting_needs_an_account(app, factory, monkeypatch):
    v = Vote(app, factory)
    v.setup()
    reader = app.test_client()
    early = reader.get(v.url + "/results")
    assert early.status_code == 303  # not published yet: the ballot page says when
    assert reader.get(v.url).status_code == 200
    assert "take-part" in reader.get(v.url).get_data(as_text=True)
    vote = v.vote(reader, 0)
    assert vote.status_code == 302 and vote.headers["Location"].startswith("/login")
    later = utcnow() + timedelta(days=7)
    monkeypatch.setattr(clock, "now", lambda: later)
    results = reader.get(v.url + "/results")
    assert results.status_code == 200 and "长椅" in results.get_data(as_text=True)


def test_a_revoked_member_is_still_told_why(app, factory):
    community = factory.community()
    user = factory.user(community, Role.VERIFIED)
    with app.app_context():
        from participation.communities.models import Membership

        m = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
        m.revoked_at, m.revoke_reason = utcnow(), "重复账号"
        db.session.commit()
    client = app.test_client()
    login(client, user)
    response = client.get(f"/c/{community.id}")
    assert response.status_code == 403 and "重复账号" in response.get_data(as_text=True)


def test_the_home_page_links_every_community_for_anyone(app, factory):
    community = factory.community()
    html = app.test_client().get("/").get_data(as_text=True)
    assert f'href="/c/{community.id}"' in html
