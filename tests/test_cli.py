"""Console commands: the demo community and creating a platform admin."""
from __future__ import annotations

from sqlalchemy import func, select

from participation.accounts.models import User
from participation.communities.models import Community, Household, Membership
from participation.extensions import db
from participation.policy import Role
from tests.conftest import comment, login, post


def counts(app) -> tuple[int, ...]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Community, Household, User, Membership))


def test_demo_is_idempotent_and_prints_logins(app, runner, client):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "13800000001" in first.output and "linli-demo-2026" in first.output
    before = counts(app)
    assert before[0] == 1 and before[1] > 50 and before[2] >= 9
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    assert counts(app) == before
    # The printed logins work.
    with app.app_context():
        committee = db.session.scalar(select(User).where(User.phone == "13800000001"))
        db.session.expunge(committee)
    login(client, committee, "linli-demo-2026")
    html = client.get("/").get_data(as_text=True)
    assert "金榜社区" in html


def test_create_admin(app, runner, client):
    result = runner.invoke(args=["create-admin", "--login", "admin@example.cn", "--name",
                                 "区管理员"], input="a long admin pass\na long admin pass\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "admin@example.cn"))
        assert admin.is_admin
        db.session.expunge(admin)
    login(client, admin, "a long admin pass")
    assert client.get("/admin/communities").status_code == 200


def test_create_admin_refuses_a_weak_password(app, runner):
    result = runner.invoke(args=["create-admin", "--login", "13700000000", "--name", "x"],
                           input="12345678\n12345678\n")
    assert result.exit_code != 0
    assert counts(app)[2] == 0


def test_create_admin_refuses_a_malformed_login(app, runner):
    result = runner.invoke(args=["create-admin", "--login", "foo", "--name", "x"],
                           input="a long admin pass\na long admin pass\n")
    assert result.exit_code != 0 and "11-digit" in result.output
    assert counts(app)[2] == 0


def test_the_demo_shows_every_flow_to_a_demo_resident(app, runner):
    """Out of the box a newcomer can comment, support, vote, and read a finished vote."""
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0
    from participation.discussions.models import Topic
    from proposals.ballots.models import Ballot
    from proposals.models import Proposal

    with app.app_context():
        community = db.session.scalar(select(Community))
        zheng = db.session.scalar(select(User).where(User.phone == "13900000003"))
        db.session.expunge(zheng)
        topic = db.session.scalar(select(Topic))
        open_proposal = db.session.scalar(select(Proposal).where(
            Proposal.status == "evaluating", Proposal.author_id != zheng.id)
            .order_by(Proposal.id))
        supports_before = open_proposal.support_count
        ballots = {b.title: (b.id, len(b.options)) for b in db.session.scalars(select(Ballot))}
    assert len(ballots) == 2
    client = app.test_client()
    login(client, zheng, "linli-demo-2026")
    base = f"/c/{community.id}"
    # A topic open for discussion.
    assert comment(client, community, topic.id, "我也赞成，周末可以开放。").status_code == 303
    # A proposal she can still support.
    page = f"{base}/proposals/{open_proposal.id}"
    assert post(client, f"{page}/support", page=page).status_code in (200, 303)
    assert f"{supports_before + 1} 人支持" in client.get(page).get_data(as_text=True)
    # A vote open now, with its choices.
    open_vote = f"{base}/ballots/{ballots['3号楼后空地：选出最多两项'][0]}"
    assert 'name="option"' in client.get(open_vote).get_data(as_text=True)
    # A finished vote with its results: three online ballots and fifty on paper.
    finished = f"{base}/ballots/{ballots['东门自行车棚：选一个方案'][0]}/results"
    results = client.get(finished).get_data(as_text=True)
    assert "53" in results and "加顶棚和照明" in results and "初步" not in results


def test_prune_uploads_deletes_only_old_pictures_nothing_refers_to(app, runner, factory):
    import os
    import time
    from io import BytesIO

    from PIL import Image

    from participation.uploads import save_image, upload_dir
    from proposals.models import Proposal, ProposalPhoto

    community = factory.community()
    author = factory.user(community, Role.VERIFIED)
    consultation = factory.consultation(community)

    def picture():
        buffer = BytesIO()
        Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
        buffer.seek(0)
        return buffer

    with app.app_context():
        kept, kept_thumb = save_image(picture(), "proposals", thumbnail=True)
        removed, removed_thumb = save_image(picture(), "proposals", thumbnail=True)
        fresh = save_image(picture(), "proposals")
        proposal = Proposal(consultation_id=consultation.id, author_id=author.id, title="长椅",
                            category="other", site="空地", status="evaluating")
        proposal.photos.append(ProposalPhoto(filename=kept, thumbnail=kept_thumb))
        db.session.add(proposal)
        db.session.commit()
        folder = upload_dir("proposals")
        old = time.time() - 7200
        for name in (kept, kept_thumb, removed, removed_thumb):
            os.utime(folder / name, (old, old))
    result = runner.invoke(args=["prune-uploads"])
    assert result.exit_code == 0 and "2 unused picture(s) deleted." in result.output
    with app.app_context():
        left = {p.name for p in upload_dir("proposals").glob("*.jpg")}
    assert {kept, kept_thumb, fresh} <= left and not {removed, removed_thumb} & left
