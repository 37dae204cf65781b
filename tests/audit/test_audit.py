"""The audit log reads as plain sentences in both languages, naming each object with a link."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from participation import audit
from participation.accounts.models import User
from participation.audit.models import AuditEvent
from participation.audit.operations import record
from participation.clock import utcnow
from participation.discussions.models import Comment, Topic
from participation.extensions import db
from participation.meetings.models import Meeting
from participation.policy import Role
from tests.conftest import client_for
from tests.proposals.ballots.test_ballots import Vote

ROOT = Path(__file__).resolve().parents[2]
NOT_DETAILS = {"actor", "community", "target"}


def recorded_in_source() -> dict[str, set[str]]:
    """Every action name the code records with the detail keys it records, read from its
    `record(...)` calls (f-string names such as f"{kind}.hide" stand for topics and comments)."""
    recorded: dict[str, set[str]] = {}

    def names(node) -> set[str]:
        if isinstance(node, ast.Constant):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return names(node.body) | names(node.orelse)
        if isinstance(node, ast.JoinedStr):
            return {"".join(part.value if isinstance(part, ast.Constant) else kind
                            for part in node.values) for kind in ("topic", "comment")}
        raise AssertionError(f"an action name the test cannot read: {ast.dump(node)}")

    for package in ("participation", "proposals", "surveys"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record":
                    for action in names(node.args[0]):
                        recorded.setdefault(action, set()).update(
                            k.arg for k in node.keywords if k.arg not in NOT_DETAILS)
    return recorded


def test_every_action_the_code_records_has_a_sentence_and_named_details(app):
    recorded = recorded_in_source()
    assert {"ballot.save", "proposal.review", "consultation.phases", "topic.hide"} <= set(recorded)
    assert sorted(set(recorded) - set(audit.ACTION_LABELS)) == []
    unnamed = {(action, key) for action, keys in recorded.items() for key in keys
               if audit.detail_label(action, key) is None}
    assert sorted(unnamed) == []


def visible_text(html: str) -> str:
    main = html[html.index("<main"):html.index("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", main))


@pytest.fixture
def logged(app, factory):
    """A vote set up through the pages (the real `ballot.save`), and one entry for each other
    action, about real objects and with the details the code records."""
    vote = Vote(app, factory)
    ballot_id = vote.setup()
    community = vote.community
    member = factory.user(community, Role.VERIFIED, display_name="陈先生")
    with app.app_context():
        topic = Topic(consultation_id=vote.consultation_id, author_id=member.id, title="停车问题")
        db.session.add(topic)
        db.session.flush()
        comment = Comment(topic_id=topic.id, author_id=member.id, body="车太多")
        meeting = Meeting(community_id=community.id, title="五月议事会", held_at=utcnow(),
                          place="活动室", published_at=utcnow(), attendance=12)
        db.session.add_all([comment, meeting])
        db.session.flush()
        bench, pavilion, flowers = vote.proposals
        on = {"community": community, "actor": vote.planner}
        user = f"user:{member.id}"
        consultation = f"consultation:{vote.consultation_id}"
        ballot = f"ballot:{ballot_id}"
        entries = [
            ("community.create", f"community:{community.id}", {}),
            ("membership.assign_role", user, {"member": "陈先生", "role": "moderator"}),
            ("membership.join", user, {}),
            ("membership.verify", user, {"member": "陈先生", "household": "3号楼2单元502室",
                                         "method": "in_person"}),
            ("membership.revoke", user, {"member": "陈先生", "reason": "搬走了"}),
            ("household.import", None, {"added": 12, "skipped": 2}),
            ("invite.issue", None, {"households": 12, "days": 30}),
            ("invite.redeem", user, {"household": "3号楼2单元502室"}),
            ("user.register", user, {}),
            ("user.password_changed", user, {}),
            ("user.password_reset_requested", user, {}),
            ("user.made_admin", user, {"via": "console"}),
            ("consultation.create", consultation, {"title": "口袋公园"}),
            ("consultation.edit", consultation, {}),
            ("consultation.phases", consultation, {"phases": 3}),
            ("meeting.save", f"meeting:{meeting.id}", {"title": "五月议事会"}),
            ("comment.answer", f"comment:{comment.id}", {}),
            ("comment.pin", f"comment:{comment.id}", {}),
            ("comment.unpin", f"comment:{comment.id}", {}),
            ("comment.delete", f"comment:{comment.id}", {}),
            ("content.report", f"topic:{topic.id}", {"reason": "重复话题"}),
            ("topic.hidden_by_reports", f"topic:{topic.id}", {"reports": 3}),
            ("topic.keep_hidden", f"topic:{topic.id}", {"reason": "重复", "reports": 3}),
            ("topic.dismiss_reports", f"topic:{topic.id}",
             {"reason": "不重复", "reports": 3, "restored": True}),
            ("topic.hide", f"topic:{topic.id}", {"reason": "广告"}),
            ("topic.restore", f"topic:{topic.id}", {"reason": "误判"}),
            ("comment.hide", f"comment:{comment.id}", {"reason": "广告", "reports": 1}),
            ("comment.restore", f"comment:{comment.id}", {"reason": "误判"}),
            ("comment.hidden_by_reports", f"comment:{comment.id}", {"reports": 3}),
            ("comment.keep_hidden", f"comment:{comment.id}", {"reason": "辱骂", "reports": 3}),
            ("comment.dismiss_reports", f"comment:{comment.id}",
             {"reason": "没有违规", "reports": 2, "restored": False}),
            ("membership.block", user, {"member": "陈先生", "reason": "刷屏"}),
            ("membership.unblock", user, {"member": "陈先生"}),
            ("proposal.submit", f"proposal:{bench}", {"title": "长椅"}),
            ("proposal.review", f"proposal:{bench}", {"status": "accepted", "reason": "可行"}),
            ("proposal.merge", f"proposal:{pavilion}", {"into": flowers, "moved": 2}),
            ("ballot.paper_batch", ballot, {"batch": 1, "collected_by": "李阿姨",
                                            "collected_on": "2026-05-03"}),
            ("ballot.register_add", ballot, {"household": "3号楼2单元502室"}),
            ("ballot.paper_entry", ballot, {"batch": 1, "household": "3号楼2单元502室"}),
            ("ballot.paper_removed", ballot, {"batch": 1, "household": "3号楼2单元502室"}),
        ]
        for action, target, details in entries:
            record(action, target=target, **on, **details)
        ids = {"topic": topic.id, "comment": comment.id, "meeting": meeting.id,
               "ballot": ballot_id}
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) > len(entries)
    app.config["PAGE_SIZE"] = 200
    return vote, ids


SENTENCES = {
    "zh_CN": ["修改了征询“口袋公园”的阶段", "阶段数：3", "答复了提议“长椅”：入选投票",
              "将提议“凉亭”合并到提议“花坛”", "保存了投票“口袋公园投票”的设置",
              "将陈先生的角色设为内容管理员", "因多次举报自动隐藏了话题“停车问题”",
              "发布了正式回复：“停车问题”中的一条评论", "保存了议事会“五月议事会”的记录",
              "现场核验了陈先生的居民身份", "方式：现场核验", "已恢复显示：是"],
    "en": ["Changed the phases of the consultation “口袋公园”", "Number of phases: 3",
           "Answered the proposal “长椅”: shortlisted for the vote",
           "Merged the proposal “凉亭” into the proposal “花坛”",
           "Saved the settings of the vote “口袋公园投票”", "Gave 陈先生 the role Moderator",
           "Hid the topic “停车问题” automatically after reports",
           "Published an official answer: a comment in “停车问题”",
           "Saved the record of the meeting “五月议事会”", "How: in person", "Shown again: yes"],
}


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_a_committee_member_reads_plain_sentences_with_working_links(app, logged, locale):
    vote, ids = logged
    with app.app_context():
        db.session.get(User, vote.committee.id).locale = locale
        db.session.commit()
    committee = client_for(app, vote.committee)
    response = committee.get(f"/c/{vote.community.id}/audit")
    html = response.get_data(as_text=True)
    assert f'lang="{locale.replace("_", "-")}"' in html
    text = visible_text(html)
    for sentence in SENTENCES[locale]:
        assert sentence in text, sentence
    # No raw action keys, field names or stored values anywhere in the page.
    raw = sorted(set(audit.ACTION_LABELS) | {"status:", "collected_on", "in_person",
                                             "accepted", "eligibility", "approval", "advisory"})
    assert [key for key in raw if key in html] == []
    assert re.findall(r"\b[a-z]+[._][a-z_]+\b", text) == []

    # Each object is named with a link that leads to it.
    table = html[html.index("<table"):html.index("</table>")]
    links = set(re.findall(r'href="([^"]+)"', table))
    base = f"/c/{vote.community.id}"
    for expected in (f"{base}/consultations/{vote.consultation_id}",
                     f"{base}/topics/{ids['topic']}",
                     f"{base}/topics/{ids['topic']}#comment-{ids['comment']}",
                     f"{base}/meetings/{ids['meeting']}", f"{base}/ballots/{ids['ballot']}",
                     f"{base}/proposals/{vote.proposals[0]}"):
        assert expected in links, expected
    for link in links:
        assert committee.get(link.split("#")[0]).status_code == 200, link


def test_an_object_deleted_since_is_still_named(app, logged):
    vote, ids = logged
    with app.app_context():
        db.session.delete(db.session.get(Meeting, ids["meeting"]))
        db.session.commit()
    committee = client_for(app, vote.committee)
    text = visible_text(committee.get(f"/c/{vote.community.id}/audit").get_data(as_text=True))
    assert "保存了一次已删除的会议的记录" in text
