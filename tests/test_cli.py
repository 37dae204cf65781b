"""Console commands: the demo community and creating a platform admin."""
from __future__ import annotations

from sqlalchemy import func, select

from participation.accounts.models import User
from participation.communities.models import Community, Household, Membership
from participation.extensions import db
from participation.policy import Role
from tests.conftest import login


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


def test_demo_has_a_vote_open_to_residents(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0
    from proposals.ballots.models import Ballot

    with app.app_context():
        ballots = db.session.scalars(select(Ballot)).all()
        assert len(ballots) == 1 and len(ballots[0].options) == 3
        lin = db.session.scalar(select(User).where(User.phone == "13900000001"))
        db.session.expunge(lin)
        url = f"/c/{ballots[0].consultation.community_id}/ballots/{ballots[0].id}"
    client = app.test_client()
    login(client, lin, "linli-demo-2026")
    page = client.get(url).get_data(as_text=True)
    assert "投票" in page and 'name="option"' in page  # she can vote now
    assert client.get(url + "/results").status_code == 200  # results are shown live


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
