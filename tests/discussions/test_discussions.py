"""Discussions: stances, replies, upvotes, official answers, moderation, safety and speed."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from participation.discussions.models import Comment, CommentVote
from participation.extensions import db
from participation.notifications.models import Notification
from participation.policy import Role
from tests.conftest import (
    START,
    click_together,
    client_for,
    comment,
    comment_id,
    open_topic,
    post,
)
from tests.test_security import PAYLOADS, dangerous


def build_discussion(app, topic_id, author_id, threads: int, replies: int,
                     prefix: str = "回复") -> None:
    with app.app_context():
        for n in range(threads):
            root = Comment(topic_id=topic_id, author_id=author_id, body=f"主题评论 {n}",
                           stance="support")
            db.session.add(root)
            db.session.flush()
            for m in range(replies):
                db.session.add(Comment(topic_id=topic_id, author_id=author_id, parent_id=root.id,
                                       root_id=root.id, depth=1, body=f"{prefix} {n}-{m}"))
        db.session.commit()


def test_stances_replies_edits_and_tombstones(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin, wang = client_for(app, people["lin"]), client_for(app, people["wang"])
    topic_id = open_topic(lin, community, consultation_id)
    first = comment_id(comment(lin, community, topic_id, "多放几张长椅", "support"))
    comment(wang, community, topic_id, "会占用停车位", "oppose")
    level1 = comment_id(comment(wang, community, topic_id, "回复一", parent=first))
    level2 = comment_id(comment(lin, community, topic_id, "回复二", parent=level1))
    level3 = comment_id(comment(wang, community, topic_id, "回复三", parent=level2))
    with app.app_context():
        depths = {c.id: c.depth for c in db.session.scalars(select(Comment))}
        assert (depths[first], depths[level1], depths[level2], depths[level3]) == (0, 1, 2, 2)
        assert db.session.get(Comment, level3).parent_id == level1  # joins the deepest level
    page = lin.get(f"/c/{community.id}/topics/{topic_id}").get_data(as_text=True)
    assert "支持：1" in page and "反对：1" in page

    edit = f"/c/{community.id}/comments/{first}/edit"
    assert post(lin, edit, {"body": "多放几张带靠背的长椅", "stance": "support"},
                page=edit).status_code == 303
    page = lin.get(f"/c/{community.id}/topics/{topic_id}").get_data(as_text=True)
    assert "带靠背" in page and "已编辑" in page
    assert wang.get(edit).status_code == 403  # not the author
    at(START + timedelta(days=1, hours=1))
    late = lin.get(edit, follow_redirects=True)  # the edit window has passed, and it says so
    assert "已超过时限" in late.get_data(as_text=True)
    assert late.request.path == f"/c/{community.id}/topics/{topic_id}"  # back to the thread

    delete = f"/c/{community.id}/comments/{first}/delete"
    assert "删除" in lin.get(delete).get_data(as_text=True)  # asks first
    post(lin, delete, page=delete)
    page = wang.get(f"/c/{community.id}/topics/{topic_id}").get_data(as_text=True)
    assert "带靠背" not in page and "已删除" in page and "回复一" in page


def test_comment_with_htmx_returns_the_fragment(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin = client_for(app, people["lin"])
    topic_id = open_topic(lin, community, consultation_id)
    response = comment(lin, community, topic_id, "同意", "support",
                       headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'class="comment depth-0' in html and 'hx-swap-oob="true"' in html
    empty = comment(lin, community, topic_id, "", headers={"HX-Request": "true"})
    assert empty.headers["HX-Retarget"] == "#comment-form"
    assert "必填" in empty.get_data(as_text=True)


def test_an_htmx_comment_updates_the_count_and_says_it_was_posted(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin = client_for(app, people["lin"])
    topic_id = open_topic(lin, community, consultation_id)
    first = comment(lin, community, topic_id, "同意", "support", headers={"HX-Request": "true"})
    html = first.get_data(as_text=True)
    assert re.search(r'<h2 id="comments-title" hx-swap-oob="true">1 条评论</h2>', html)
    assert re.search(r'<div id="live-status" hx-swap-oob="innerHTML">[^<]+</div>', html)
    first_id = int(re.search(r'id="comment-(\d+)"', html).group(1))
    reply = comment(lin, community, topic_id, "补充", parent=first_id,
                    headers={"HX-Request": "true"}).get_data(as_text=True)
    assert re.search(r'<h2 id="comments-title" hx-swap-oob="true">2 条评论</h2>', reply)
    page = lin.get(f"/c/{community.id}/topics/{topic_id}").get_data(as_text=True)
    assert re.search(r'<h2 id="comments-title">2 条评论</h2>', page)
    assert 'id="live-status"' in page and "hx-swap-oob" not in page


def test_comments_close_with_the_phase(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin = client_for(app, people["lin"])
    topic_id = open_topic(lin, community, consultation_id)
    at(START + timedelta(days=43))  # results notice
    assert comment(lin, community, topic_id, "还能说吗").status_code == 403
    page = lin.get(f"/c/{community.id}/topics/{topic_id}").get_data(as_text=True)
    assert "当前阶段不能发表评论" in page or "评论已关闭" in page


def test_one_upvote_per_user_even_when_double_clicked_concurrently(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin, wang = client_for(app, people["lin"]), client_for(app, people["wang"])
    topic_id = open_topic(lin, community, consultation_id)
    target = comment_id(comment(lin, community, topic_id, "加装路灯", "support"))
    statuses = click_together(app, wang, f"/c/{community.id}/comments/{target}/upvote",
                              page=f"/c/{community.id}/topics/{topic_id}")
    assert statuses == [303] * 6
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CommentVote)) == 1


def test_official_answer_is_marked_pinned_and_notified(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin, planner = client_for(app, people["lin"]), client_for(app, people["planner"])
    topic_id = open_topic(lin, community, consultation_id)
    comment(lin, community, topic_id, "先来的评论", "neutral")
    page = f"/c/{community.id}/topics/{topic_id}"
    response = post(planner, f"{page}/answer", {"body": "我们会在议事会上讨论"}, page=page)
    answer = comment_id(response)
    post(planner, f"/c/{community.id}/comments/{answer}/pin", page=page)
    html = lin.get(page).get_data(as_text=True)
    assert "责任规划师的正式回复" in html and "置顶" in html
    assert html.index("我们会在议事会上讨论") < html.index("先来的评论")
    assert "回复了您的话题" in lin.get("/notifications").get_data(as_text=True)
    assert post(lin, f"{page}/answer", {"body": "冒充"}, page=page).status_code == 403


def test_reports_hide_content_and_moderators_decide(app, place, at, factory):
    community, people, consultation_id = place
    app.config["REPORTS_TO_HIDE"] = 2
    at(START + timedelta(days=1))
    wang = client_for(app, people["wang"])
    topic_id = open_topic(wang, community, consultation_id)
    bad = comment_id(comment(wang, community, topic_id, "骂人的话", "oppose"))
    report = f"/c/{community.id}/report/comment/{bad}"
    lin = client_for(app, people["lin"])
    assert post(lin, report, {"reason": "人身攻击"}, page=report).status_code == 303
    again = post(lin, report, {"reason": "人身攻击"}, page=f"/c/{community.id}/topics/{topic_id}",
                 follow_redirects=True)
    assert "已经举报过" in again.get_data(as_text=True)
    third = client_for(app, factory.user(community, Role.VERIFIED))
    post(third, report, {"reason": "不文明"}, page=report)
    page = f"/c/{community.id}/topics/{topic_id}"
    assert "骂人的话" not in lin.get(page).get_data(as_text=True)  # hidden after 2 reports
    mine = wang.get(page).get_data(as_text=True)
    assert "骂人的话" in mine and "举报" in mine  # the author sees why

    mod = client_for(app, people["mod"])
    queue = mod.get(f"/c/{community.id}/moderation").get_data(as_text=True)
    assert "人身攻击" in queue and "骂人的话" in queue
    restore = f"/c/{community.id}/moderation/comment/{bad}/restore"
    post(mod, restore, {"reason": "只是语气重"}, page=f"/c/{community.id}/moderation")
    assert "骂人的话" in lin.get(page).get_data(as_text=True)
    hide = f"/c/{community.id}/moderation/comment/{bad}/hide"
    post(mod, hide, {"reason": "违反社区公约第三条"}, page=f"/c/{community.id}/moderation")
    assert "违反社区公约第三条" in wang.get(page).get_data(as_text=True)
    assert "违反社区公约第三条" in wang.get("/notifications").get_data(as_text=True)
    assert lin.get(f"/c/{community.id}/moderation").status_code == 403

    block = f"/c/{community.id}/moderation/block/{factory.membership_id(people['wang'], community)}"
    post(mod, block, {"reason": "多次辱骂"}, page=block)
    assert comment(wang, community, topic_id, "我又来了").status_code == 403


def test_moderators_decide_on_each_reported_item_once_with_a_reason(app, place, at, factory):
    """One card per reported item, its reports grouped, a link to it in its thread; content the
    reports hid says so until a moderator keeps it hidden or dismisses the reports, each with a
    reason that is kept and audited."""
    from participation.audit.models import AuditEvent
    from participation.discussions.models import Report, Topic

    community, people, consultation_id = place
    app.config["REPORTS_TO_HIDE"] = 2
    at(START + timedelta(days=1))
    wang, lin = client_for(app, people["wang"]), client_for(app, people["lin"])
    third_user = factory.user(community, Role.VERIFIED, display_name="赵大姐")
    third = client_for(app, third_user)
    topic_id = open_topic(wang, community, consultation_id, "停车问题")
    rude = comment_id(comment(wang, community, topic_id, "骂人的话", "oppose"))
    harsh = comment_id(comment(wang, community, topic_id, "语气很冲的话", "oppose"))
    for client, reason in ((lin, "人身攻击"), (third, "不文明用语")):
        for cid in (rude, harsh):
            report = f"/c/{community.id}/report/comment/{cid}"
            post(client, report, {"reason": reason}, page=report)
    report = f"/c/{community.id}/report/topic/{topic_id}"
    post(lin, report, {"reason": "重复话题"}, page=report)

    thread = f"/c/{community.id}/topics/{topic_id}"
    seen = lin.get(thread).get_data(as_text=True)
    assert "骂人的话" not in seen
    assert "这条评论已在 2 次举报后隐藏，等待内容管理员处理。" in seen
    assert "已被内容管理员隐藏" not in seen  # nobody decided yet
    assert "已在 2 次举报后隐藏，等待内容管理员处理" in wang.get(thread).get_data(as_text=True)
    assert "2 次举报后已被隐藏" in wang.get("/notifications").get_data(as_text=True)

    mod = client_for(app, people["mod"])
    queue = f"/c/{community.id}/moderation"
    html = mod.get(queue).get_data(as_text=True)
    assert html.count(f'id="reported-comment-{rude}"') == 1  # one card, not one per report
    card = html.split(f'id="reported-comment-{rude}"')[1].split('<li class="card"')[0]
    assert "2 次举报" in card and "人身攻击" in card and "不文明用语" in card
    assert "林阿婆" in card and "赵大姐" in card
    assert f'href="{thread}#comment-{rude}"' in card  # straight to the comment in its thread
    assert "已在 2 次举报后隐藏" in card and "继续隐藏" in card and "驳回举报并恢复显示" in card
    topic_card = html.split(f'id="reported-topic-{topic_id}"')[1].split('<li class="card"')[0]
    assert "1 次举报" in topic_card and "目前仍对所有人显示" in topic_card

    keep = f"{queue}/comment/{rude}/keep"
    post(mod, keep, {"reason": ""}, page=queue)  # a decision needs its reason
    assert "这条评论已在 2 次举报后隐藏" in lin.get(thread).get_data(as_text=True)
    post(mod, keep, {"reason": "违反社区公约第三条"}, page=queue)
    seen = lin.get(thread).get_data(as_text=True)
    assert "这条评论已被内容管理员隐藏。" in seen and "骂人的话" not in seen
    assert "违反社区公约第三条" in wang.get(thread).get_data(as_text=True)
    post(mod, f"{queue}/comment/{harsh}/dismiss", {"reason": "语气重，但没有违规"}, page=queue)
    assert "语气很冲的话" in lin.get(thread).get_data(as_text=True)  # shown again
    assert "语气重，但没有违规" in wang.get("/notifications").get_data(as_text=True)
    post(mod, f"{queue}/topic/{topic_id}/dismiss", {"reason": "不重复"}, page=queue)
    html = mod.get(queue).get_data(as_text=True)
    assert "reported-" not in html and "人身攻击" not in html  # every card handled

    with app.app_context():
        settled = {(r.comment_id or r.topic_id, r.outcome, r.resolution_reason, r.resolved_by_id)
                   for r in db.session.scalars(select(Report))}
        mod_id = people["mod"].id
        assert settled == {(rude, "kept", "违反社区公约第三条", mod_id),
                           (harsh, "dismissed", "语气重，但没有违规", mod_id),
                           (topic_id, "dismissed", "不重复", mod_id)}
        assert db.session.get(Topic, topic_id).hidden_at is None
        assert db.session.get(Comment, rude).hidden_after_reports is None
        actions = {(e.action, e.target, e.details.get("reason")) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.actor_id == mod_id))}
        assert actions == {("comment.keep_hidden", f"comment:{rude}", "违反社区公约第三条"),
                           ("comment.dismiss_reports", f"comment:{harsh}", "语气重，但没有违规"),
                           ("topic.dismiss_reports", f"topic:{topic_id}", "不重复")}
    log = client_for(app, factory.user(community, Role.COMMITTEE)).get(
        f"/c/{community.id}/audit").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "", log)
    assert "因多次举报自动隐藏了“停车问题”中的一条评论" in text
    assert "处理举报后继续隐藏“停车问题”中的一条评论" in text
    assert "驳回了对话题“停车问题”的举报" in text


def test_stored_xss_payloads_are_defused_everywhere(app, place, at):
    community, people, consultation_id = place
    app.config["REPORTS_TO_HIDE"] = 99
    at(START + timedelta(days=1))
    wang, lin = client_for(app, people["wang"]), client_for(app, people["lin"])
    topic_id = open_topic(wang, community, consultation_id, title=PAYLOADS[0])
    for payload in PAYLOADS:
        cid = comment_id(comment(wang, community, topic_id, payload, "neutral"))
        comment(lin, community, topic_id, payload, parent=cid)
        report = f"/c/{community.id}/report/comment/{cid}"
        post(lin, report, {"reason": payload}, page=report)
    mod = client_for(app, people["mod"])
    pages = [(lin, f"/c/{community.id}/topics/{topic_id}"),
             (mod, f"/c/{community.id}/moderation"), (wang, "/notifications"),
             (lin, f"/c/{community.id}/consultations/{consultation_id}")]
    for client, url in pages:
        html = client.get(url).get_data(as_text=True)
        main = html[html.index("<main"):html.index("</main>")]
        # Our own forms and htmx attributes are expected; anything else active is not.
        ours = {"form", "hx-post", "hx-target", "hx-swap", "hx-swap-oob"}
        assert [f for f in dangerous(main) if f not in ours] == [], url


@pytest.mark.parametrize("page", ["topic", "consultation"])
def test_query_count_does_not_grow_with_comments(app, place, at, count_queries, page):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin = client_for(app, people["lin"])
    small_topic = open_topic(lin, community, consultation_id, "小讨论")
    big_topic = open_topic(lin, community, consultation_id, "大讨论")
    build_discussion(app, small_topic, people["wang"].id, threads=5, replies=1)
    url = {"topic": f"/c/{community.id}/topics/{{}}",
           "consultation": f"/c/{community.id}/consultations/{consultation_id}"}[page]
    lin.get(url.format(small_topic))
    with count_queries() as small:
        lin.get(url.format(small_topic))
    build_discussion(app, big_topic, people["wang"].id, threads=100, replies=9)  # 1,000 comments
    with count_queries() as big:
        html = lin.get(url.format(big_topic)).get_data(as_text=True)
    assert big.count == small.count
    if page == "topic":
        assert html.count('class="comment depth-0') == app.config["COMMENTS_PER_PAGE"]
        assert "page=2" in html  # the rest is on later pages


def test_moderation_is_in_the_committees_audit_log_in_plain_words(app, place, at, factory):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    wang = client_for(app, people["wang"])
    topic_id = open_topic(wang, community, consultation_id)
    bad = comment_id(comment(wang, community, topic_id, "广告", "neutral"))
    lin = client_for(app, people["lin"])
    report = f"/c/{community.id}/report/comment/{bad}"
    post(lin, report, {"reason": "广告"}, page=report)
    mod = client_for(app, people["mod"])
    post(mod, f"/c/{community.id}/moderation/comment/{bad}/hide", {"reason": "商业广告"},
         page=f"/c/{community.id}/moderation")
    committee = client_for(app, factory.user(community, Role.COMMITTEE))
    log = committee.get(f"/c/{community.id}/audit").get_data(as_text=True)
    assert "举报了“座椅太少”中的一条评论" in re.sub(r"<[^>]+>", "", log)
    assert "隐藏了" in log and "商业广告" in log
    assert "comment.hide" not in log


def test_hidden_things_can_be_restored_from_the_queue_and_blocks_are_explained(
        app, place, at, factory):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    wang, lin = client_for(app, people["wang"]), client_for(app, people["lin"])
    topic_id = open_topic(wang, community, consultation_id, "被隐藏的话题")
    mod = client_for(app, people["mod"])
    queue = f"/c/{community.id}/moderation"
    post(mod, f"/c/{community.id}/moderation/topic/{topic_id}/hide", {"reason": "重复"},
         page=queue)
    hidden = lin.get(f"/c/{community.id}/topics/{topic_id}")
    assert hidden.status_code == 200 and "已隐藏这个话题" in hidden.get_data(as_text=True)
    assert "被隐藏的话题" in mod.get(queue).get_data(as_text=True)  # listed under hidden content
    post(mod, f"/c/{community.id}/moderation/topic/{topic_id}/restore", {"reason": "误判"},
         page=queue)
    assert "被隐藏的话题" in lin.get(f"/c/{community.id}/topics/{topic_id}").get_data(
        as_text=True)
    assert "误判" in wang.get("/notifications").get_data(as_text=True)

    block = f"/c/{community.id}/moderation/block/{factory.membership_id(people['wang'], community)}"
    post(mod, block, {"reason": "刷屏"}, page=block)
    page = wang.get(f"/c/{community.id}/topics/{topic_id}").get_data(as_text=True)
    assert "刷屏" in page  # told why, on the page and in a notification
    assert "刷屏" in wang.get("/notifications").get_data(as_text=True)
    assert "王师傅" in mod.get(queue).get_data(as_text=True)  # listed, to be unblocked later


def test_nobody_upvotes_their_own_comment(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin = client_for(app, people["lin"])
    topic_id = open_topic(lin, community, consultation_id)
    mine = comment_id(comment(lin, community, topic_id, "我的评论", "support"))
    page = f"/c/{community.id}/topics/{topic_id}"
    assert post(lin, f"/c/{community.id}/comments/{mine}/upvote", page=page).status_code == 403


def test_review_findings_stay_fixed(app, place, at, factory):
    """Hidden discussions are closed, only residents are blocked by moderators, only official
    answers are pinned, odd ids and far dates are answered calmly."""
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin, wang = client_for(app, people["lin"]), client_for(app, people["wang"])
    mod, planner = client_for(app, people["mod"]), client_for(app, people["planner"])
    topic_id = open_topic(lin, community, consultation_id)
    mine = comment_id(comment(lin, community, topic_id, "普通评论", "support"))
    page = f"/c/{community.id}/topics/{topic_id}"
    assert post(planner, f"/c/{community.id}/comments/{mine}/pin", page=page).status_code == 403
    planner_membership = factory.membership_id(people["planner"], community)
    block = f"/c/{community.id}/moderation/block/{planner_membership}"
    assert mod.get(block).status_code == 403
    for odd in ("²", "9" * 23, "-1"):
        response = comment(wang, community, topic_id, "回复", parent=odd)
        assert response.status_code == 404, odd
        assert post(lin, "/notifications/read", {"id": odd}, page="/notifications"
                    ).status_code == 303
    assert lin.get(f"/notifications?page={'9' * 23}").status_code == 200
    url = f"/c/{community.id}/consultations/new"
    far = post(planner, url, {"template": "micro_space", "title": "远", "starts_on": "9999-12-30"},
               page=url)
    assert far.status_code == 200 and "2100" in far.get_data(as_text=True)
    post(mod, f"/c/{community.id}/moderation/topic/{topic_id}/hide", {"reason": "重复"},
         page=f"/c/{community.id}/moderation")
    assert comment(wang, community, topic_id, "还想说").status_code == 403


def test_a_reply_to_the_deepest_level_notifies_the_person_answered(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin, wang = client_for(app, people["lin"]), client_for(app, people["wang"])
    mod = client_for(app, people["mod"])
    topic_id = open_topic(lin, community, consultation_id)
    root = comment_id(comment(lin, community, topic_id, "一", "support"))
    level1 = comment_id(comment(wang, community, topic_id, "二", parent=root))
    level2 = comment_id(comment(mod, community, topic_id, "三", parent=level1))
    comment(lin, community, topic_id, "四", parent=level2)
    with app.app_context():
        told = db.session.scalars(select(Notification.user_id).where(
            Notification.kind == "comment.reply").order_by(Notification.id)).all()
    assert told == [people["lin"].id, people["wang"].id, people["mod"].id]


def test_long_threads_show_their_first_replies_and_link_to_the_rest(app, place, at,
                                                                   count_queries):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin = client_for(app, people["lin"])
    topic_id = open_topic(lin, community, consultation_id)
    build_discussion(app, topic_id, people["wang"].id, threads=2, replies=3)
    page = f"/c/{community.id}/topics/{topic_id}"
    lin.get(page)
    with count_queries() as short:
        lin.get(page)
    build_discussion(app, topic_id, people["wang"].id, threads=1, replies=500, prefix="长线")
    with count_queries() as long:
        html = lin.get(page).get_data(as_text=True)
    assert long.count == short.count
    per_thread = app.config["REPLIES_PER_THREAD"]
    assert html.count("长线 0-") == per_thread  # the long thread shows its first replies
    link = re.search(r'href="([^"]*thread=(\d+)[^"]*)"', html)
    assert link and "480" in html  # and says how many more there are
    whole = lin.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert whole.count("长线 0-") == 500 and "回复 1-" not in whole  # that thread only


def test_a_visitor_who_is_no_member_is_told_only_members_comment(app, place, at, factory):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    topic_id = open_topic(client_for(app, people["lin"]), community, consultation_id)
    admin = client_for(app, factory.user(admin=True))
    page = admin.get(f"/c/{community.id}/topics/{topic_id}").get_data(as_text=True)
    assert "只有本社区成员可以发表评论" in page and "当前阶段" not in page


def test_refusals_say_what_happened(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    wang = client_for(app, people["wang"])
    topic_id = open_topic(wang, community, consultation_id)
    bad = comment_id(comment(wang, community, topic_id, "骂人的话"))
    # Reporting again opens no form and no bare 403: it says the report is in.
    report = f"/c/{community.id}/report/comment/{bad}"
    lin = client_for(app, people["lin"])
    assert post(lin, report, {"reason": "人身攻击"}, page=report).status_code == 303
    again = lin.get(report, follow_redirects=True)
    assert again.status_code == 200 and "已经举报过" in again.get_data(as_text=True)
    # After the collect and deliberate phases, the topic form says when opening topics ended.
    at(START + timedelta(days=40))
    closed = wang.get(f"/c/{community.id}/consultations/{consultation_id}/topics/new")
    page = closed.get_data(as_text=True)
    assert closed.status_code == 403 and "阶段" in page and "结束" in page and "2027" in page
