"""Every route, for every role: published pages are public, anonymous visitors are sent to log
in for anything else, the wrong role gets 403, and nobody gets an accidental 200. A new route fails this test until it is declared below."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from participation.extensions import db
from participation.policy import Role
from tests.conftest import UPLOADS, csrf_from, login

ROLES = ["anonymous", "resident", "verified", "planner", "committee", "moderator", "admin",
         "outsider"]
MEMBERS = {"resident", "verified", "planner", "committee", "moderator"}
SIGNED_IN = set(ROLES) - {"anonymous"}
EVERYONE = set(ROLES)
COMMITTEE = {"committee", "admin"}
GUARDIANS = {"verified", "committee", "moderator"}

# endpoint -> roles that may use it. "outsider" is a committee member of another community.
ALLOWED: dict[str, set[str]] = {
    "static": EVERYONE,
    "communities.index": EVERYONE,
    "favicon": EVERYONE,
    "accounts.register": EVERYONE,
    "accounts.login": EVERYONE,
    "accounts.logout": EVERYONE,
    "accounts.forgot_password": EVERYONE,
    "accounts.reset_password": EVERYONE,
    "accounts.set_language": EVERYONE,
    "accounts.set_display": EVERYONE,
    "accounts.account": SIGNED_IN,
    "accounts.change_password": SIGNED_IN,
    "communities.redeem": SIGNED_IN,
    "communities.join": SIGNED_IN,
    "communities.switch": MEMBERS | {"admin"},
    "communities.community": EVERYONE,  # published content is public reading
    "communities.settings": COMMITTEE,
    "proposals.index": EVERYONE,
    "proposals.new": {"verified"},  # the collect phase is running
    "proposals.show": EVERYONE,
    "proposals.edit": set(),  # only drafts are edited, by their author
    "proposals.support": {"verified"},
    "proposals.withdraw_support": {"verified"},  # nothing to take back: answered all the same
    "proposals.review": {"planner", "admin"},
    "proposals.merge": {"planner", "admin"},
    "proposals.merge_candidates": {"planner", "admin"},
    "proposals.photo": EVERYONE,
    "ballots.ballot": EVERYONE,
    "ballots.new": {"planner", "admin"},
    "ballots.edit": {"planner", "admin"},  # before the first vote
    "ballots.vote": {"verified"},  # the vote phase is running
    "ballots.results": EVERYONE,  # the planner publishes results live
    "ballots.paper": COMMITTEE,
    "ballots.paper_batch": COMMITTEE,
    "ballots.remove_paper_entry": COMMITTEE,  # answered with "tick the box to confirm"
    "ballots.add_to_register": COMMITTEE,  # an empty address is answered with what to correct
    "surveys.index": MEMBERS | {"admin"},
    "communities.households": COMMITTEE,
    "communities.import_households": COMMITTEE,
    "communities.confirm_import": COMMITTEE,
    "communities.invites": COMMITTEE,
    "communities.invite_sheet": COMMITTEE,
    "communities.members": COMMITTEE,
    "communities.verify_member": COMMITTEE,
    "communities.revoke_member": COMMITTEE,
    "communities.reset_member_password": COMMITTEE,
    "communities.audit": COMMITTEE,
    "consultations.new_consultation": {"planner", "admin"},
    "consultations.consultation": EVERYONE,
    "consultations.edit_consultation": {"planner", "admin"},
    "consultations.consultation_cover": EVERYONE,
    "meetings.meeting_photo": EVERYONE,
    "consultations.edit_phases": {"planner", "admin"},
    # The collect phase is running; a member not yet verified may not write here (the
    # community's default).
    "discussions.new_topic": MEMBERS - {"resident"},
    "discussions.topic": EVERYONE,
    "discussions.post_comment": MEMBERS - {"resident"},
    "discussions.edit_comment": {"resident"},  # the author, within the edit window
    "discussions.delete_comment": {"resident", "moderator", "admin"},
    "discussions.upvote": MEMBERS - {"resident"},  # the resident wrote the comment
    "discussions.withdraw_upvote": MEMBERS - {"resident"},
    "discussions.answer_topic": {"planner", "admin"},
    "discussions.pin_comment": set(),  # only official answers are pinned, and this is a comment
    "discussions.report": MEMBERS,
    "discussions.moderation": {"moderator", "admin"},
    "discussions.moderate": {"moderator", "admin"},
    "discussions.block_member": {"moderator", "admin"},
    "meetings.meetings": EVERYONE,
    "meetings.meeting": EVERYONE,  # published
    "meetings.edit_meeting": {"planner", "committee", "admin"},
    "notifications.notifications": SIGNED_IN,
    "notifications.read_notifications": SIGNED_IN,
    "communities.admin_communities": {"admin"},
    "communities.admin_new_community": {"admin"},
    "communities.admin_community": {"admin"},
    "communities.remove_role": {"admin"},  # the target has no role: told so
    "plan.checkup": EVERYONE,  # a community's checkup is public, like its plan
    "plan.photo": EVERYONE,
    "plan.start": {"planner", "committee", "admin"},
    "plan.finding": {"planner", "committee", "admin"},
    "plan.sites": EVERYONE,
    "plan.site": EVERYONE,
    "plan.site_plan_image": EVERYONE,
    "plan.site_photo": EVERYONE,
    "plan.site_plan": {"planner", "committee", "admin"},  # no picture sent: told so
    "plan.edit_site": {"planner", "committee", "admin"},
    # Plans are public; the planner and the committee build them; putting the draft to
    # residents opens a consultation, the planner's.
    "plan.plans": EVERYONE,
    "plan.plan": EVERYONE,
    "plan.project": EVERYONE,
    "plan.new_plan": {"planner", "committee", "admin"},  # no title sent: told so
    "plan.builder": {"planner", "committee", "admin"},
    "plan.from_source": {"planner", "committee", "admin"},
    "plan.gap_project": {"planner", "committee", "admin"},
    "plan.edit_project": {"planner", "committee", "admin"},
    "plan.delete_project": {"planner", "committee", "admin"},
    "plan.add_source": {"planner", "committee", "admin"},
    "plan.remove_source": {"planner", "committee", "admin"},
    "plan.weights": {"planner", "committee", "admin"},
    "plan.refresh": {"planner", "committee", "admin"},
    "plan.consult": {"planner", "admin"},
    "plan.respond": {"verified"},  # the draft's review phase is running
    # The committee decides and answers; the decided list, its versions, exports and notice
    # are public; members object while the notice runs.
    "plan.decide": COMMITTEE,
    "plan.publish": COMMITTEE,  # already under notice here: told so
    "plan.answer": COMMITTEE,  # no answer sent: told so
    "plan.versions": EVERYONE,
    "plan.version": EVERYONE,
    "plan.export": EVERYONE,
    "plan.print_version": EVERYONE,
    "plan.notice": EVERYONE,
    "plan.object_to": MEMBERS,
    # Adopted projects: the planner and the committee report progress, members follow, and
    # the progress, its photos, the public page and the board notice are public.
    "plan.track": {"planner", "committee", "admin"},  # no update sent: told so
    "plan.follow": MEMBERS,
    "plan.update_photo": EVERYONE,
    "plan.public": EVERYONE,
    "plan.board_notice": EVERYONE,
    # The street's or district's view of all its communities, and its spreadsheet.
    "plan.district": {"admin"},
    "plan.district_export": {"admin"},
    # Children: the notice is public; guardians are residents whose place is known. A child is
    # seen and deleted by its own guardian only (another guardian: 404).
    "children.notice": EVERYONE,
    "children.index": SIGNED_IN,  # one's own children, whatever became of the membership
    "children.consent": GUARDIANS,  # an empty answer is answered with what to choose
    "children.new": GUARDIANS,  # without consent: sent to the notice first
    "children.delete": SIGNED_IN,  # another guardian's child: 404
    "children.withdraw": SIGNED_IN,
    # Children's designs: calls and galleries are public; a design not yet approved is seen
    # by its guardian and the community's planners and moderators only (others: 404).
    "designs.calls": EVERYONE,
    "designs.call": EVERYONE,
    "designs.image": EVERYONE,  # a pending design: 404 but for those three
    "designs.new_call": {"planner", "admin"},  # a consultation of another kind: 404
    "designs.edit_call": {"planner", "admin"},
    "designs.submit": GUARDIANS,  # the design collection runs; without consent: the notice
    "designs.review": {"planner", "moderator"},
    "designs.moderate": {"planner", "moderator"},  # no answer sent: told so
    "designs.sticker": set(),  # the children's vote comes after the design collection
    "designs.take_back": set(),
    "designs.new_workshop": {"planner"},
    "designs.tally": {"planner"},
    "designs.promote": {"planner", "admin"},  # not approved yet: told so
    # The guardian deletes their child's drawing; a planner only a workshop child's (404 here).
    "designs.delete_design": {"verified", "planner"},
}


def routes():
    from app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x" * 40,
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append(pytest.param(rule.endpoint, rule.rule, method,
                                      id=f"{method} {rule.rule}"))
    return found


def test_every_route_is_declared():
    declared = set(ALLOWED)
    endpoints = {p.values[0] for p in routes()}
    assert endpoints == declared, "declare new routes in ALLOWED with the roles that may use them"


# The world is built once per test worker, by `_build_world`; every test gets it back as built:
# its rows put back into the emptied tables, and any picture a test removed saved again. Its
# times are those of its building, and some rights run out (a comment is edited within 15
# minutes): a world older than WORLD_SECONDS is built again.
_BUILT: dict[str, tuple[dict, dict[str, list[dict]], dict[Path, bytes], float]] = {}
WORLD_SECONDS = 300


@pytest.fixture
def world(app, factory):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url not in _BUILT or time.monotonic() - _BUILT[url][3] > WORLD_SECONDS:
        started = time.monotonic()
        before = set(Path(UPLOADS).rglob("*"))
        built = _build_world(app, factory)
        with app.app_context():
            rows = {table.name: [dict(row._mapping) for row in db.session.execute(
                table.select().order_by(*table.primary_key.columns))]
                for table in db.metadata.sorted_tables}
        pictures = {path: path.read_bytes() for path in set(Path(UPLOADS).rglob("*")) - before
                    if path.is_file()}
        _BUILT[url] = built, rows, pictures, started
        return built
    built, rows, pictures, _started = _BUILT[url]
    with app.app_context():
        _put_back(rows)
    for path, content in pictures.items():
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    return built


def _put_back(rows: dict[str, list[dict]]) -> None:
    """Insert the world's rows, parents first, with their ids; on PostgreSQL each id sequence
    then goes on after the largest id, as it did when the world was built. (The world has no
    supports: the trigger that counts them would count them again.)"""
    assert not rows["support"]
    for table in db.metadata.sorted_tables:
        if rows[table.name]:
            db.session.execute(table.insert(), rows[table.name])
    if db.engine.dialect.name == "postgresql":
        for table in db.metadata.sorted_tables:
            if rows[table.name] and "id" in table.c and table.c.id.autoincrement:
                db.session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                    f"(SELECT max(id) FROM \"{table.name}\"))"))
    db.session.commit()


def _build_world(app, factory):
    community = factory.community()
    other = factory.community()
    household = factory.household(community)
    users = {
        "resident": factory.user(community, Role.RESIDENT),
        "verified": factory.user(community, Role.VERIFIED, household=household),
        "planner": factory.user(community, Role.PLANNER),
        "committee": factory.user(community, Role.COMMITTEE),
        "moderator": factory.user(community, Role.MODERATOR),
        "admin": factory.user(admin=True),
        "outsider": factory.user(other, Role.COMMITTEE),
    }
    target = factory.user(community, Role.RESIDENT)
    with app.app_context():
        from participation.accounts.models import User
        from participation.communities.models import Household
        from participation.communities.operations import issue_invites

        batch = issue_invites(db.session.get(User, users["committee"].id), db.session.get(
            type(community), community.id), [db.session.get(Household, household.id)], 30)
        db.session.commit()
        batch_id = batch.id
        from datetime import timedelta

        from participation.clock import utcnow
        from participation.consultations.models import Consultation, Phase
        from participation.discussions.models import Comment, Topic
        from participation.meetings.models import Meeting

        now = utcnow()
        from io import BytesIO

        from PIL import Image

        from participation.meetings.models import MeetingPhoto
        from participation.uploads import save_image

        png = BytesIO()
        Image.new("RGB", (8, 8), "green").save(png, "PNG")
        png.seek(0)
        cover = save_image(png, "covers")
        png.seek(0)
        photo_name = save_image(png, "meetings")
        consultation = Consultation(community_id=community.id, template="micro_space",
                                    title="口袋公园", description="", cover=cover)
        consultation.phases.append(Phase(kind="collect", starts_at=now - timedelta(days=1),
                                         ends_at=now + timedelta(days=20)))
        db.session.add(consultation)
        db.session.flush()
        author = users["resident"].id
        topic = Topic(consultation_id=consultation.id, author_id=author, title="座椅", body="")
        db.session.add(topic)
        db.session.flush()
        comment = Comment(topic_id=topic.id, author_id=author, body="好", stance="support")
        meeting = Meeting(community_id=community.id, title="议事会", held_at=now, place="活动室",
                          published_at=now)
        meeting.photos.append(MeetingPhoto(filename=photo_name))
        from proposals.models import Proposal, ProposalPhoto

        proposal = Proposal(consultation_id=consultation.id, author_id=users["planner"].id,
                            title="长椅", category="other", site="3号楼后", status="evaluating",
                            submitted_at=now)
        png.seek(0)
        proposal_photo = save_image(png, "proposals")
        proposal.photos.append(ProposalPhoto(filename=proposal_photo, thumbnail=proposal_photo))
        shortlisted = Proposal(consultation_id=consultation.id, author_id=users["planner"].id,
                               title="凉亭", category="other", site="2号楼前", status="accepted",
                               submitted_at=now)
        db.session.add_all([comment, meeting, proposal, shortlisted])
        db.session.flush()
        from proposals.ballots.models import Ballot, BallotOption, PaperBatch

        vote_phase = Phase(consultation_id=consultation.id, kind="vote",
                           starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=5))
        db.session.add(vote_phase)
        db.session.flush()
        ballot = Ballot(consultation_id=consultation.id, phase_id=vote_phase.id, title="投票",
                        method="approval", max_choices=1, eligibility="resident",
                        secrecy="open", preset="advisory", results_live=True)
        ballot.options.append(BallotOption(proposal_id=shortlisted.id, position=0))
        db.session.add(ballot)
        db.session.flush()
        paper_batch = PaperBatch(ballot_id=ballot.id, collected_by="楼长", collected_on=now.date())
        db.session.add(paper_batch)
        db.session.flush()
        from proposals.ballots.models import BallotVoter

        paper_voter = BallotVoter(ballot_id=ballot.id, voter_key=f"h{household.id}",
                                  household_id=household.id, channel="paper",
                                  batch_id=paper_batch.id)
        db.session.add(paper_voter)
        db.session.commit()
        # One `batch_id` serves both the invite sheet and the paper batch routes.
        assert paper_batch.id == batch_id
        from io import BytesIO

        from participation.plan.models import Checkup, CheckupEntry
        from participation.uploads import save_image
        from tests.conftest import image_bytes

        checkup = Checkup(community_id=community.id)
        db.session.add(checkup)
        db.session.flush()
        finding = CheckupEntry(checkup_id=checkup.id, item_id="cc01", state="missing",
                               checked_on=now.date(),
                               photo=save_image(BytesIO(image_bytes()), "checkup"))
        db.session.add(finding)
        from participation.plan.models import Site, SitePhoto, SitePlan

        db.session.add(SitePlan(community_id=community.id, width=800, height=600,
                                image=save_image(BytesIO(image_bytes()), "sites")))
        site = Site(community_id=community.id, kind="micro_space", name="3号楼后空地",
                    x=50, y=50)
        site.photos.append(SitePhoto(filename=save_image(BytesIO(image_bytes()), "sites")))
        db.session.add(site)
        from participation.plan.models import Plan, Project, ProjectSource

        draft = Consultation(community_id=community.id, template="plan_draft", title="草案")
        draft.phases.append(Phase(kind="plan_review", starts_at=now - timedelta(days=1),
                                  ends_at=now + timedelta(days=10)))
        db.session.add(draft)
        db.session.flush()
        plan = Plan(community_id=community.id, title="2027 年度社区更新方案", weights={},
                    consultation_id=draft.id)
        db.session.add(plan)
        db.session.flush()
        project = Project(plan_id=plan.id, title="无障碍坡道", site_id=site.id)
        db.session.add(project)
        db.session.flush()
        source = ProjectSource(plan_id=plan.id, project_id=project.id, kind="gap", ref="cc01",
                               title="清单缺口", signal=2)
        db.session.add(source)
        from participation.plan.models import Objection, PlanVersion

        db.session.add(PlanVersion(plan_id=plan.id, number=1, change="决定", projects=[]))
        plan.notice_version, plan.notice_starts_at = 1, now - timedelta(days=1)
        plan.notice_ends_at = now + timedelta(days=6)
        objection = Objection(plan_id=plan.id, version=1, project_id=project.id,
                              project_title=project.title, reason="异议")
        db.session.add(objection)
        from participation.plan.models import (
            PlanDecision,
            ProjectDecision,
            ProjectUpdate,
            ProjectUpdatePhoto,
        )

        decision = PlanDecision(plan_id=plan.id, held_on=now.date(), members_present="陈主任",
                                present=1, committee_size=1)
        decision.outcomes.append(ProjectDecision(project_id=project.id, outcome="adopt"))
        progress = ProjectUpdate(project_id=project.id, on=now.date(), status="design",
                                 progress=10, text="设计中")
        progress.photos.append(ProjectUpdatePhoto(
            filename=save_image(BytesIO(image_bytes()), "progress")))
        db.session.add_all([decision, progress])
        from participation.children.models import ChildProfile, GuardianConsent

        consent = GuardianConsent(user_id=users["verified"].id, community_id=community.id,
                                  notice_version=1, agreed=True)
        db.session.add(consent)
        db.session.flush()
        child = ChildProfile(community_id=community.id, guardian_id=users["verified"].id,
                             consent_id=consent.id, nickname="小树", age_band="9-11")
        db.session.add(child)
        from participation.children.models import PaperConsent
        from proposals.designs.models import Design, DesignCall, Workshop

        children_call = Consultation(community_id=community.id, template="children_design",
                                     title="儿童设计")
        children_call.phases.append(Phase(kind="design", starts_at=now - timedelta(days=1),
                                          ends_at=now + timedelta(days=10)))
        db.session.add(children_call)
        db.session.flush()
        call = DesignCall(consultation_id=children_call.id, community_id=community.id,
                          title="口袋乐园", prompt="画一画", age_bands="6-8,9-11,12-14")
        db.session.add(call)
        db.session.flush()
        drawing = save_image(BytesIO(image_bytes()), "designs")
        design = Design(call_id=call.id, child_id=child.id, title="滑梯", filename=drawing,
                        thumbnail=drawing)  # pending: not yet approved
        paper = PaperConsent(community_id=community.id, collected_by="苏阿姨",
                             collected_on=now.date(), count=5)
        db.session.add_all([design, paper])
        db.session.flush()
        workshop = Workshop(call_id=call.id, paper_consent_id=paper.id, place="活动室",
                            held_on=now.date())
        db.session.add(workshop)
        db.session.commit()
        assert progress.photos[0].id == meeting.photos[0].id
        assert site.photos[0].id == meeting.photos[0].id  # one `photo_id` for every photo
        # One `photo_id` serves both photo routes below.
        assert meeting.photos[0].id == proposal.photos[0].id
        ids = {"consultation_id": consultation.id, "topic_id": topic.id,
               "comment_id": comment.id, "item_id": comment.id, "meeting_id": meeting.id,
               "photo_id": meeting.photos[0].id, "proposal_id": proposal.id,
               "size": "thumb", "ballot_id": ballot.id,
               "voter_id": paper_voter.id, "entry_id": finding.id, "item": "cc01",
               "site_id": site.id, "plan_id": plan.id, "project_id": project.id,
               "source_id": source.id, "number": 1, "fmt": "csv",
               "objection_id": objection.id, "update_id": progress.id,
               "child_id": child.id, "call_id": call.id, "design_id": design.id,
               "workshop_id": workshop.id}
    return {
        "community": community,
        "users": users,
        "values": {
            "community_id": community.id,
            "membership_id": factory.membership_id(target, community),
            "token": "not-a-real-token",
            "batch_id": batch_id,
            "kind": "comment",
            "action": "hide",
            **ids,
            "filename": "css/linli.css",
        },
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "rule", "method"), routes())
def test_route_access(app, client, world, role, endpoint, rule, method):
    if role != "anonymous":
        login(client, world["users"][role])
    url = re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: str(world["values"][m.group(1)]), rule)
    if method == "GET":
        response = client.get(url)
    else:
        token = csrf_from(client.get("/").get_data(as_text=True))
        response = client.post(url, data={"csrf_token": token})
    response.close()  # static files are streamed

    allowed = role in ALLOWED[endpoint]
    if allowed:
        # A page, a redirect after a POST, or the "link no longer valid" page of a fake token.
        # An empty ballot, paper entry or form is answered with what to correct.
        expected = {"accounts.reset_password": {200, 303, 404}, "favicon": {301},
                    "ballots.vote": {422}, "ballots.paper_batch": {200, 422},
                    "ballots.paper": {200, 422}, "ballots.add_to_register": {422},
                    "meetings.edit_meeting": {200, 422}, "plan.finding": {200, 422},
                    "plan.edit_site": {200, 422}, "plan.new_plan": {422},
                    "plan.edit_project": {200, 422}, "plan.weights": {200, 422},
                    "plan.respond": {422}, "plan.decide": {200, 422},
                    "plan.object_to": {422}, "plan.track": {200, 422},
                    "children.consent": {200, 422}, "children.new": {200, 303, 422},
                    "children.delete": {200, 303} if role == "verified" else {404},
                    "designs.image": {200} if role in ("verified", "planner", "moderator")
                    else {404},
                    "designs.new_call": {404}, "designs.edit_call": {200, 422},
                    "designs.submit": {200, 303, 422}, "designs.new_workshop": {200, 422},
                    "designs.delete_design": {404} if role == "planner" else {200, 303},
                    "proposals.new": {200, 422}, "proposals.edit": {200, 422}}.get(
            endpoint, {200, 303})
        assert response.status_code in expected, f"{role} got {response.status_code} on {url}"
    elif role == "anonymous":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    else:
        assert response.status_code == 403, f"{role} got {response.status_code} on {url}"
