"""Browser tests: Playwright driving Debian's Chromium against the real app on a live server.

Every page of the foundation is checked with axe-core in Chinese, in English and in large-text
mode, at 360 px wide; the newcomer's path is walked with JavaScript on and off."""
from __future__ import annotations

import os
import re
import shutil
import threading
from datetime import timedelta

import pytest
from werkzeug.serving import make_server

from participation.accounts.models import PasswordResetToken
from participation.clock import utcnow
from participation.extensions import db
from participation.policy import Role
from participation.security import token_hash
from tests.conftest import PASSWORD, image_bytes

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="browser tests need Chromium (apt-get install -y chromium)"),
    # Chromium drops a static file's response when it navigates on; the live server's thread
    # then leaves the file to the garbage collector, which warns at a random later moment.
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <_io.FileIO name=.*/static/"
        ":pytest.PytestUnraisableExceptionWarning"),
]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(javascript: bool = True, width: int = 360):
        context = browser.new_context(viewport={"width": width, "height": 800},
                                      java_script_enabled=javascript, locale="zh-CN")
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def check_page(page, label: str) -> None:
    """Zero axe violations and no sideways scrolling at 360 px; in large-text mode, ticks and
    radios big enough to hit (at least 24 px)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = [
        f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
    assert violations == [], f"{label} {page.url}: {violations}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{label} {page.url} scrolls sideways by {overflow}px"
    if "large-text" in (page.locator("html").get_attribute("class") or ""):
        small = page.evaluate("""[...document.querySelectorAll(
            'input[type=checkbox], input[type=radio]')].filter(e => e.offsetParent !== null)
            .map(e => e.getBoundingClientRect()).filter(r => Math.min(r.width, r.height) < 24)
            .map(r => Math.round(Math.min(r.width, r.height)))""")
        assert small == [], f"{label} {page.url}: ticks or radios of {small} px"


def open_menu(page) -> None:
    """On a phone the header's links sit behind its Menu button: open it (a wide screen shows
    them without)."""
    summary = page.locator("details.site-menu > summary")
    if summary.is_visible() and page.locator("details.site-menu[open]").count() == 0:
        summary.click()


def switch_mode(page, mode: str) -> None:
    """Switch the page to English ("en") or large text ("large"); "zh" stays as it is."""
    if mode != "zh":
        open_menu(page)
    if mode == "en":
        page.click("button[name=locale][value=en]")
    elif mode == "large":
        page.click("button[aria-pressed][type=submit]:not([name])")
    page.wait_for_load_state()


def log_in(page, base: str, login: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:500]


def test_newcomer_registers_redeems_and_switches_language(app, live_server, new_page, factory):
    community = factory.community(name="金榜社区")
    committee = factory.user(community, Role.COMMITTEE)
    factory.household(community, building="2号楼", unit="1单元", room="301")

    staff = new_page()
    log_in(staff, live_server, committee.login)
    staff.goto(f"{live_server}/c/{community.id}/invites")
    staff.click("main button[type=submit]")
    code = staff.locator(".slip .code").first.inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)

    page = new_page()
    page.goto(live_server)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    open_menu(page)
    page.click("text=注册")
    page.fill("input[name=display_name]", "林阿婆")
    page.fill("input[name=login]", "13912345678")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/redeem$"))
    # A wrong code is answered in place (htmx), keeping what was typed.
    page.fill("input[name=code]", "WRONG-CODE")
    page.click("#redeem-form button[type=submit]")
    page.wait_for_selector("#redeem-form .error")
    assert page.input_value("input[name=code]") == "WRONG-CODE"
    page.fill("input[name=code]", code.lower())
    page.click("#redeem-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/c/{community.id}$"))
    assert page.locator("h1").inner_text() == "金榜社区"
    assert "已认证居民" in page.inner_text("main")
    assert "2号楼1单元301室" in page.inner_text("main")

    open_menu(page)
    page.click("button[name=locale][value=en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Verified resident" in page.inner_text("main")
    open_menu(page)
    page.click("text=Large text")
    page.wait_for_load_state()
    assert "large-text" in (page.locator("html").get_attribute("class") or "")
    big = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert big >= 19

    check_page(page, "community, en, large text")


def test_redeem_works_without_javascript(app, live_server, new_page, factory):
    community = factory.community()
    committee = factory.user(community, Role.COMMITTEE)
    factory.household(community)
    staff = new_page(javascript=False)
    log_in(staff, live_server, committee.login)
    staff.goto(f"{live_server}/c/{community.id}/invites")
    staff.click("main button[type=submit]")
    code = staff.locator(".slip .code").first.inner_text()

    resident = factory.user()
    page = new_page(javascript=False)
    log_in(page, live_server, resident.login)
    page.goto(f"{live_server}/redeem")
    page.fill("input[name=code]", "NOPE")
    page.click("#redeem-form button[type=submit]")
    assert "无效" in page.inner_text("main")
    page.fill("input[name=code]", code)
    page.click("#redeem-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/c/{community.id}$"))
    assert "已认证居民" in page.inner_text("main")


def test_keyboard_reaches_skip_link_first(live_server, new_page):
    page = new_page()
    page.goto(f"{live_server}/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused


def _pages(app, factory):
    community = factory.community(household_count=300)
    committee = factory.user(community, Role.COMMITTEE)
    house = factory.household(community, floor_area=88)
    resident = factory.user(community, Role.VERIFIED, household=house)
    newcomer = factory.user(community, Role.RESIDENT)
    admin = factory.user(admin=True)
    planner = factory.user(community, Role.PLANNER)
    with app.app_context():
        db.session.add(PasswordResetToken(user_id=resident.id, token_hash=token_hash("tok-123"),
                                          expires_at=utcnow() + timedelta(hours=1)))
        db.session.commit()
    with app.test_request_context():
        from participation.plan import operations as plan_ops

        user = db.session.get(type(committee), committee.id)
        here = db.session.get(type(community), community.id)
        plan = plan_ops.create_plan(user, here, "2027 年度社区更新方案")
        project = plan_ops.save_project(
            user, plan, None, title="东门无障碍坡道", description="", category=None,
            item_id="cc12", site_id=None, cost=None, funding="", responsible="", timeline="")
        plan_ops.decide(user, plan, held_on=utcnow().date(), members_present="周主任",
                        present=1, size=1, outcomes={project.id: ("adopt", 1, 0, 0, "急需")},
                        now=utcnow())
        plan_ops.publish(user, plan, utcnow(), 7, lambda _plan: "/")
        plan_ops.post_update(user, project, on=utcnow().date(), status="design", percent=20,
                             text="设计方案征求意见中", cancel_reason="", photos=[], url="/")
        from participation.children import operations as children_ops

        guardian = db.session.get(type(resident), resident.id)
        children_ops.answer_notice(guardian, here, True)
        child = children_ops.add_child(guardian, here, "小树", "9-11")
        db.session.commit()
        plan_id, project_id, child_id = plan.id, project.id, child.id
        design_pages = _design_pages(app, here, guardian, child, planner)
    c = f"/c/{community.id}"
    p = f"{c}/plans/{plan_id}"
    mid = factory.membership_id(newcomer, community)
    return {
        None: ["/", "/login", "/register", "/password/forgot", "/password/reset/tok-123",
               "/password/reset/spent", "/no-such-page", c, f"{c}/proposals", f"{c}/checkup",
               f"{c}/sites", f"{c}/plans", p, f"{p}/projects/{project_id}", f"{p}/versions",
               f"{p}/versions/1", f"{p}/versions/1/print", f"{p}/notice", f"{c}/our-plan",
               f"{p}/notice/board", f"{c}/children/notice", *design_pages[None]],
        resident.login: ["/account", "/redeem", c, f"{c}/proposals", f"{c}/surveys",
                         f"{c}/households", f"{c}/plans/{plan_id}/notice", f"{c}/children",
                         f"{c}/children/consent", f"{c}/children/new",
                         f"{c}/children/{child_id}/delete", f"{c}/children/withdraw",
                         *design_pages["guardian"]],
        planner.login: design_pages["planner"],
        committee.login: [f"{c}/households", f"{c}/households/import", f"{c}/invites",
                          f"{c}/members", f"{c}/members/{mid}/verify",
                          f"{c}/members/{mid}/revoke", f"{c}/audit", f"{c}/settings",
                          f"{c}/checkup/items/cc01", f"{c}/sites", f"{c}/sites/new",
                          f"{c}/plans", p, f"{p}/builder", f"{p}/projects/{project_id}",
                          f"{p}/projects/{project_id}/edit", f"{p}/projects/new",
                          f"{p}/weights", f"{p}/decide", f"{p}/notice",
                          f"{p}/projects/{project_id}/updates/new"],
        admin.login: ["/admin/communities", "/admin/communities/new", "/district",
                      f"/admin/communities/{community.id}",
                      f"/admin/communities/{community.id}/members/"
                      f"{factory.membership_id(committee, community)}/remove-role"],
    }, community


def _design_pages(app, community, guardian, child, planner) -> dict:
    """A children's design call collecting drawings, with one approved, one waiting, and a
    workshop: its pages for visitors, the guardian and the planner."""
    from io import BytesIO

    from participation.consultations.models import Consultation, Phase
    from proposals.designs import operations as design_ops
    from proposals.designs.models import DesignCall

    now = utcnow()
    consultation = Consultation(community_id=community.id, template="children_design",
                                title="口袋乐园")
    consultation.phases = [Phase(kind="design", starts_at=now - timedelta(days=1),
                                 ends_at=now + timedelta(days=9))]
    db.session.add(consultation)
    db.session.flush()
    call = DesignCall(consultation_id=consultation.id, community_id=community.id,
                      title="我们的口袋乐园", prompt="你想在这里玩什么？", age_bands="6-8,9-11")
    db.session.add(call)
    db.session.flush()
    shown = design_ops.submit_design(guardian, call, child.id, "彩虹滑梯", "会变颜色",
                                     BytesIO(image_bytes()))
    design_ops.moderate(db.session.get(type(guardian), planner.id), shown, "approved")
    design_ops.submit_design(guardian, call, child.id, "树屋", "", BytesIO(image_bytes()))
    workshop = design_ops.add_workshop(
        db.session.get(type(guardian), planner.id), call, place="活动室", held_on=now.date(),
        collected_by="苏阿姨", collected_on=now.date(), consents=3,
        drawings=[design_ops.WorkshopDrawing("小星", "6-8", "花朵跷跷板", "",
                                             BytesIO(image_bytes()))])
    db.session.commit()
    workshop_design = max(d.id for d in design_ops.gallery(call))
    c, d = f"/c/{community.id}", f"/c/{community.id}/design-calls/{call.id}"
    return {None: [f"{c}/designs", d],
            "guardian": [d, f"{d}/submit"],
            "planner": [d, f"{d}/review", f"{d}/review?state=approved", f"{d}/workshops/new",
                        f"{c}/workshops/{workshop.id}/tally", f"{d}/edit",
                        f"{c}/consultations/{consultation.id}",
                        f"{c}/consultations/{consultation.id}/design-calls/new",
                        f"{c}/designs/{workshop_design}/delete"]}


@pytest.mark.parametrize("mode", ["zh", "en", "large"])
def test_every_page_passes_axe(app, live_server, new_page, factory, mode):
    pages, community = _pages(app, factory)
    for login, urls in pages.items():
        page = new_page()
        if login:
            log_in(page, live_server, login)
        else:
            page.goto(live_server)
        switch_mode(page, mode)
        for url in urls:
            page.goto(live_server + url)
            check_page(page, mode)
        if login and "/households" in " ".join(urls) and f"/c/{community.id}/audit" in urls:
            # Pages that only exist after a POST: roster preview with errors, and code sheet.
            page.goto(f"{live_server}/c/{community.id}/households/import")
            page.fill("textarea[name=text]", "building,unit,room\n1,1,101\n1,,102\n")
            page.click("main form button[type=submit]")
            page.wait_for_selector("#preview-title")
            check_page(page, f"{mode} roster preview")
            page.goto(f"{live_server}/c/{community.id}/invites")
            page.click("main button[type=submit]")
            page.wait_for_selector(".slip")
            check_page(page, f"{mode} code sheet")
        if mode == "en":
            assert page.locator("html").get_attribute("lang") == "en"
        if mode == "large":
            assert "large-text" in (page.locator("html").get_attribute("class") or "")


def test_consultation_discussion_and_moderation_in_the_browser(app, live_server, new_page,
                                                              factory):
    from tests.test_security import PAYLOADS

    app.config["REPORTS_TO_HIDE"] = 99
    community = factory.community(name="金榜社区")
    planner = factory.user(community, Role.PLANNER)
    lin = factory.user(community, Role.VERIFIED, display_name="林阿婆")
    wang = factory.user(community, Role.VERIFIED, display_name="王师傅")
    mod = factory.user(community, Role.MODERATOR)
    alerts = []

    def watch(page):
        page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
        return page

    # The planner creates a consultation from the micro-space template.
    p = watch(new_page())
    log_in(p, live_server, planner.login)
    p.goto(f"{live_server}/c/{community.id}/consultations/new")
    check_page(p, "new consultation")
    p.check("input[name=template][value=micro_space]")
    p.fill("input[name=title]", "口袋公园改造")
    p.fill("textarea[name=description]", "3号楼后面的空地")
    p.click("main button[type=submit]")
    p.wait_for_url(re.compile(r"/phases$"))
    check_page(p, "phases")
    p.goto(f"{live_server}/c/{community.id}")
    p.click("text=口袋公园改造")
    consultation_url = p.url
    assert p.locator(".phase.active").count() == 1
    check_page(p, "consultation")

    # A resident opens a topic, comments with a stance and gets a reply, all in place.
    r = watch(new_page())
    log_in(r, live_server, lin.login)
    r.goto(consultation_url)
    r.click("text=发起话题")
    r.fill("input[name=title]", "座椅太少")
    r.fill("textarea[name=body]", PAYLOADS[4])
    r.click("main button[type=submit]")
    topic_url = r.url
    r.fill("#comment-body", "多放几张长椅")
    r.check("#comment-form input[value=support]")
    r.click("#comment-form button[type=submit]")
    r.wait_for_selector("#comment-list .comment")
    assert r.url == topic_url  # no page load: htmx put the comment in place
    assert r.input_value("#comment-body") == ""  # and gave back an empty form
    w = watch(new_page())
    log_in(w, live_server, wang.login)
    w.goto(topic_url)
    w.click("#comment-list details.reply summary")
    w.fill("#comment-list textarea[name=body]", "同意，还要有遮阳")
    w.click("#comment-list details.reply button[type=submit]")
    w.wait_for_selector("#comment-list .replies .comment")
    assert "同意，还要有遮阳" in w.inner_text("#comment-list .replies")
    for payload in PAYLOADS:
        w.fill("#comment-body", payload)
        w.click("#comment-form button[type=submit]")
    w.wait_for_timeout(300)
    check_page(w, "topic")

    # The other resident reports Lin's comment; a moderator hides it; Lin sees why.
    w.goto(topic_url)
    w.click("#comment-list .comment >> text=举报")
    w.fill("input[name=reason]", "<img src=x onerror=alert(1)>广告")
    w.click("main button[type=submit]")
    m = watch(new_page())
    log_in(m, live_server, mod.login)
    m.goto(f"{live_server}/c/{community.id}/moderation")
    check_page(m, "moderation")
    # One card for the reported comment, leading to it in its thread.
    assert m.locator("main .moderation-cards > li").count() == 1
    m.click("main .moderation-cards .card-title a")
    assert m.url.startswith(topic_url) and "#comment-" in m.url
    assert m.locator(m.url[m.url.index("#"):]).is_visible()
    m.go_back()
    m.fill("main input[name=reason]", "与本话题无关")
    m.click("main button.danger")
    r.goto(topic_url)
    assert "与本话题无关" in r.inner_text("main")
    r.goto(f"{live_server}/notifications")
    assert "与本话题无关" in r.inner_text("main")
    check_page(r, "notifications")
    assert alerts == []  # no payload ever ran


def test_discussion_pages_pass_axe(app, live_server, new_page, factory):
    community = factory.community()
    planner = factory.user(community, Role.PLANNER)
    mod = factory.user(community, Role.MODERATOR)
    c = factory.consultation(community, description="**说明**")
    t = factory.topic(c, planner, body="正文")
    with app.app_context():
        from participation.discussions.models import Comment
        from participation.meetings.models import Meeting

        now = utcnow()
        comment = Comment(topic_id=t.id, author_id=planner.id, body="评论", stance="support")
        meeting = Meeting(community_id=community.id, title="议事会", held_at=now, place="活动室",
                          published_at=now, attendance=12)
        db.session.add_all([comment, meeting])
        db.session.commit()
        ids = (c.id, t.id, comment.id, meeting.id)
    cid, tid, comment_id, meeting_id = ids
    base = f"/c/{community.id}"
    mid = factory.membership_id(planner, community)
    pages = {
        planner.login: [f"{base}/consultations/{cid}", f"{base}/consultations/{cid}/edit",
                        f"{base}/consultations/{cid}/topics/new", f"{base}/topics/{tid}",
                        f"{base}/comments/{comment_id}/edit",
                        f"{base}/comments/{comment_id}/delete", f"{base}/meetings",
                        f"{base}/meetings/new", f"{base}/meetings/{meeting_id}",
                        f"{base}/meetings/{meeting_id}/edit", "/notifications", base],
        mod.login: [f"{base}/report/comment/{comment_id}", f"{base}/moderation",
                    f"{base}/moderation/block/{mid}"],
    }
    for mode in ("zh", "en", "large"):
        for login, urls in pages.items():
            page = new_page()
            log_in(page, live_server, login)
            switch_mode(page, mode)
            for url in urls:
                page.goto(live_server + url)
                check_page(page, f"{mode} {url}")
            page.context.close()


def test_discussion_works_without_javascript(app, live_server, new_page, factory):
    community = factory.community()
    lin = factory.user(community, Role.VERIFIED, display_name="林阿婆")
    wang = factory.user(community, Role.VERIFIED, display_name="王师傅")
    t = factory.topic(factory.consultation(community), lin)
    topic_url = f"{live_server}/c/{community.id}/topics/{t.id}"
    page = new_page(javascript=False)
    log_in(page, live_server, lin.login)
    page.goto(topic_url)
    page.fill("#comment-body", "没有脚本也能评论")
    page.check("#comment-form input[value=oppose]")
    page.click("#comment-form button[type=submit]")
    page.wait_for_url(re.compile(r"#comment-\d+$"))
    assert "没有脚本也能评论" in page.inner_text("#comment-list")
    other = new_page(javascript=False)
    log_in(other, live_server, wang.login)
    other.goto(topic_url)
    other.click("#comment-list details.reply summary")
    other.fill("#comment-list details.reply textarea", "回复也可以")
    other.click("#comment-list details.reply button[type=submit]")
    other.wait_for_url(re.compile(r"#comment-\d+$"))
    assert "回复也可以" in other.inner_text("#comment-list .replies")
    other.click("#comment-list .upvote button")
    assert "您已点赞" in other.inner_text("#comment-list")


def test_proposal_with_photo_support_and_review_in_the_browser(app, live_server, new_page,
                                                               factory, tmp_path):
    from PIL import Image

    community = factory.community()
    lin = factory.user(community, Role.VERIFIED, display_name="林阿婆")
    wang = factory.user(community, Role.VERIFIED, display_name="王师傅")
    planner = factory.user(community, Role.PLANNER)
    factory.consultation(community, title="口袋公园")
    photo = tmp_path / "site.jpg"
    Image.new("RGB", (800, 600), "green").save(photo)

    r = new_page()
    log_in(r, live_server, lin.login)
    r.goto(f"{live_server}/c/{community.id}/proposals")
    check_page(r, "proposals")
    r.click("main a.button.primary")
    check_page(r, "new proposal")
    r.fill("input[name=title]", "3号楼后加长椅")
    r.select_option("select[name=category]", "cc12")
    r.fill("input[name=site]", "3号楼后空地")
    r.set_input_files("input[name=photos]", str(photo))
    r.click("button[value=submit]")
    r.wait_for_selector(".photos img")
    proposal_url = r.url
    check_page(r, "proposal")

    w = new_page()
    log_in(w, live_server, wang.login)
    w.goto(proposal_url)
    w.click("#support-form button")
    w.wait_for_selector("#support-form .badge")
    assert "1 人支持" in w.inner_text("#support-form")

    p = new_page()
    log_in(p, live_server, planner.login)
    p.goto(proposal_url)
    check_page(p, "proposal review")
    p.select_option("select[name=status]", "accepted")
    p.click("main form.stack button.primary")
    assert "已入围" in p.inner_text("main")
    r.goto(f"{live_server}/notifications")
    assert "已入围投票" in r.inner_text("main")


def test_a_20_mb_photo_is_named_before_sending_and_the_text_survives(app, live_server,
                                                                     new_page, factory, tmp_path):
    community = factory.community()
    lin = factory.user(community, Role.VERIFIED, display_name="林阿婆")
    consultation = factory.consultation(community, title="口袋公园")
    big = tmp_path / "big.jpg"
    big.write_bytes(image_bytes("JPEG") + b"\0" * (20 * 1024 * 1024))
    form_url = (f"{live_server}/c/{community.id}/consultations/{consultation.id}"
                "/proposals/new")
    for javascript in (True, False):
        page = new_page(javascript=javascript)
        log_in(page, live_server, lin.login)
        page.goto(form_url)
        assert "每张最多 10 MB" in page.inner_text("main")
        page.fill("input[name=title]", "3号楼后加长椅")
        page.fill("textarea[name=description]", "长椅要有靠背")
        page.select_option("select[name=category]", "cc12")
        page.fill("input[name=site]", "3号楼后空地")
        page.set_input_files("input[name=photos]", str(big))
        page.click("button[value=submit]")
        error = page.locator(".field.has-error .error, #photos-size-error").first
        error.wait_for()
        assert "big.jpg" in error.inner_text() and "10 MB" in error.inner_text()
        if javascript:  # refused before sending: still the form page, the photo field in focus
            assert page.url == form_url
            assert page.evaluate("document.activeElement.name") == "photos"
            check_page(page, "photo too large")
        assert page.input_value("input[name=title]") == "3号楼后加长椅"
        assert page.input_value("textarea[name=description]") == "长椅要有靠背"
        assert page.input_value("input[name=site]") == "3号楼后空地"


def test_proposals_to_ballot_paper_vote_and_results_in_the_browser(app, live_server, new_page,
                                                                   factory, tmp_path,
                                                                   monkeypatch):
    """A resident proposes with a photo, another supports, the planner shortlists both and opens
    an approval ballot, three residents vote (one changes their vote), the committee enters one
    paper ballot, and the results show the right tallies and turnout."""
    from PIL import Image

    from participation import clock
    from participation.consultations.models import Consultation, Phase

    community = factory.community()
    houses = [factory.household(community, room=str(101 + i), floor_area=80) for i in range(5)]
    lin = factory.user(community, Role.VERIFIED, display_name="林阿婆", household=houses[0])
    wang = factory.user(community, Role.VERIFIED, display_name="王师傅", household=houses[1])
    zhao = factory.user(community, Role.VERIFIED, display_name="赵老师", household=houses[2])
    planner = factory.user(community, Role.PLANNER)
    committee = factory.user(community, Role.COMMITTEE)
    start = utcnow()
    with app.app_context():
        c = Consultation(community_id=community.id, template="micro_space", title="口袋公园")
        c.phases.append(Phase(kind="collect", starts_at=start - timedelta(days=1),
                              ends_at=start + timedelta(days=1)))
        c.phases.append(Phase(kind="vote", starts_at=start + timedelta(days=1),
                              ends_at=start + timedelta(days=8)))
        db.session.add(c)
        db.session.commit()
        consultation_url = f"{live_server}/c/{community.id}/consultations/{c.id}"
    photo = tmp_path / "site.jpg"
    Image.new("RGB", (800, 600), "green").save(photo)

    def propose(page, title, with_photo):
        page.goto(f"{live_server}/c/{community.id}/proposals")
        page.click("main a.button.primary")
        page.fill("input[name=title]", title)
        page.select_option("select[name=category]", "cc12")
        page.fill("input[name=site]", "3号楼后空地")
        page.fill("input[name=estimated_cost]", "8000")
        if with_photo:
            page.set_input_files("input[name=photos]", str(photo))
        page.click("button[value=submit]")
        page.wait_for_selector("h1")
        return page.url

    r = new_page()
    log_in(r, live_server, lin.login)
    bench = propose(r, "3号楼后加长椅", True)
    assert r.locator(".photos img").count() == 1
    w = new_page()
    log_in(w, live_server, wang.login)
    shade = propose(w, "活动场地加遮阳棚", False)
    w.goto(bench)
    w.click("#support-form button")
    w.wait_for_selector("#support-form .badge")

    p = new_page()
    log_in(p, live_server, planner.login)
    for url in (bench, shade):
        p.goto(url)
        p.select_option("select[name=status]", "accepted")
        p.click("main form.stack button.primary")
        assert "已入围" in p.inner_text("main")

    # The vote phase begins.
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=2))
    p.goto(consultation_url)
    check_page(p, "consultation with a vote")
    p.click("text=设置投票")
    check_page(p, "ballot form")
    p.fill("input[name=title]", "口袋公园改造投票")
    p.check("input[name=method][value=approval]")
    p.fill("input[name=max_choices]", "2")
    p.check("input[name=eligibility][value=household]")
    p.check("input[name=secrecy][value=open]")
    p.check("input[name=preset][value=residents_meeting]")
    p.click("main form button.primary")
    p.wait_for_selector(".facts")
    ballot_url = p.url
    assert "居民会议" in p.inner_text("main")
    check_page(p, "ballot, planner")

    def vote(page, *titles):
        page.goto(ballot_url)
        for box in page.locator("input[name=option]").all():
            box.set_checked(False)
        for title in titles:
            page.get_by_label(title, exact=False).check()
        page.click("main form button.primary")
        page.wait_for_selector(".flash-success")

    vote(r, "3号楼后加长椅")
    check_page(r, "ballot, voted")
    vote(w, "3号楼后加长椅", "活动场地加遮阳棚")
    z = new_page()
    log_in(z, live_server, zhao.login)
    vote(z, "活动场地加遮阳棚")
    vote(z, "3号楼后加长椅")  # changes their mind
    assert "投票结束前可以更改" in z.inner_text("main")

    k = new_page()
    log_in(k, live_server, committee.login)
    k.goto(ballot_url)
    k.click("text=纸质选票")
    check_page(k, "paper ballots")
    k.fill("input[name=collected_by]", "4号楼楼长")
    k.fill("input[name=collected_on]", (start + timedelta(days=2)).date().isoformat())
    k.click("main form button.primary")
    k.wait_for_selector("input[name=building]")
    check_page(k, "paper batch")
    k.fill("input[name=building]", "1")
    k.fill("input[name=unit]", "1")
    k.fill("input[name=room]", houses[3].room)
    k.get_by_label("活动场地加遮阳棚", exact=False).check()
    k.click("main form button.primary")
    k.wait_for_selector(".flash-success")
    assert houses[3].address in k.inner_text("main")
    check_page(k, "paper batch with an entry")

    p.goto(ballot_url + "/results")
    check_page(p, "results")
    text = p.inner_text("main")
    assert "5 户中 4 户参与" in text and "80%" in text
    rows = {row.locator("th").inner_text(): [c.inner_text() for c in row.locator("td").all()]
            for row in p.locator("tbody tr").all()}
    # votes, share, online, paper, decision so far
    assert rows["3号楼后加长椅"] == ["3", "75%", "3", "0", "目前：通过"]
    assert rows["活动场地加遮阳棚"] == ["2", "50%", "1", "1", "目前：未通过"]
    assert p.locator("svg[role=img] rect.chart-bar").count() == 2
    # When voting and the days for paper ballots are over, the decision is final.
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=20))
    p.reload()
    assert "投票仍在进行" not in p.inner_text("main")
    assert p.locator("tbody tr").first.locator("td").last.inner_text() == "通过"


def test_budget_ballot_shows_a_running_total(app, live_server, new_page, factory):
    from decimal import Decimal

    from participation.consultations.models import Consultation, Phase
    from proposals.ballots.models import Ballot, BallotOption
    from proposals.models import Proposal

    community = factory.community()
    voter = factory.user(community, Role.VERIFIED)
    now = utcnow()
    with app.app_context():
        c = Consultation(community_id=community.id, template="micro_space", title="口袋公园")
        phase = Phase(kind="vote", starts_at=now - timedelta(days=1),
                      ends_at=now + timedelta(days=5))
        c.phases.append(phase)
        db.session.add(c)
        db.session.flush()
        ballot = Ballot(consultation_id=c.id, phase_id=phase.id, title="预算投票",
                        method="budget", budget=Decimal(10000), eligibility="resident",
                        secrecy="secret", preset="advisory")
        for i, (title, cost) in enumerate([("长椅", 6000), ("花坛", 3000), ("凉亭", 5000)]):
            proposal = Proposal(consultation_id=c.id, author_id=voter.id, title=title,
                                category="other", site="空地", status="accepted",
                                submitted_at=now)
            db.session.add(proposal)
            db.session.flush()
            ballot.options.append(BallotOption(proposal_id=proposal.id, position=i,
                                               cost=Decimal(cost)))
        db.session.add(ballot)
        db.session.commit()
        url = f"{live_server}/c/{community.id}/ballots/{ballot.id}"
    page = new_page()
    log_in(page, live_server, voter.login)
    page.goto(url)
    total = page.locator(".running-total")
    assert total.inner_text() == "已选：0 元 / 预算 10,000 元"
    page.get_by_label("长椅", exact=False).check()
    page.get_by_label("凉亭", exact=False).check()
    assert "超出预算" in total.inner_text() and "11,000" in total.inner_text()
    check_page(page, "budget ballot over budget")
    page.get_by_label("凉亭", exact=False).uncheck()
    page.get_by_label("花坛", exact=False).check()
    assert total.inner_text() == "已选：9,000 元 / 预算 10,000 元"
    page.click("main form button.primary")
    page.wait_for_selector(".flash-success")
    assert "无记名投票一经投出不能更改" in page.inner_text("main")
    check_page(page, "budget ballot voted")


@pytest.mark.parametrize("mode", ["en", "large"])
def test_ballot_pages_pass_axe(app, live_server, new_page, factory, mode):
    from decimal import Decimal

    from participation.consultations.models import Consultation, Phase
    from proposals.ballots.models import Ballot, BallotOption, PaperBatch
    from proposals.models import Proposal

    community = factory.community()
    house = factory.household(community, floor_area=None)
    voter = factory.user(community, Role.VERIFIED, household=house)
    planner = factory.user(community, Role.PLANNER)
    committee = factory.user(community, Role.COMMITTEE)
    now = utcnow()
    with app.app_context():
        c = Consultation(community_id=community.id, template="micro_space", title="口袋公园")
        c.phases.append(Phase(kind="vote", starts_at=now - timedelta(days=1),
                              ends_at=now + timedelta(days=5)))
        db.session.add(c)
        db.session.flush()
        ballot = Ballot(consultation_id=c.id, phase_id=c.phases[0].id, title="业主表决",
                        method="approval", max_choices=2, budget=Decimal(9000),
                        eligibility="household", secrecy="open", preset="civil_major",
                        results_live=True)
        for i, title in enumerate(["长椅", "花坛"]):
            proposal = Proposal(consultation_id=c.id, author_id=voter.id, title=title,
                                category="other", site="空地", status="accepted",
                                estimated_cost=Decimal(4000), submitted_at=now)
            db.session.add(proposal)
            db.session.flush()
            ballot.options.append(BallotOption(proposal_id=proposal.id, position=i,
                                               cost=Decimal(4000)))
        db.session.add(ballot)
        db.session.flush()
        batch = PaperBatch(ballot_id=ballot.id, collected_by="楼长", collected_on=now.date())
        db.session.add(batch)
        db.session.commit()
        b = f"/c/{community.id}/ballots/{ballot.id}"
        pages = {voter.login: [b, b + "/results"],
                 planner.login: [f"/c/{community.id}/consultations/{c.id}", b + "/edit"],
                 committee.login: [b + "/paper", f"{b}/paper/{batch.id}"]}
    for login, urls in pages.items():
        page = new_page()
        log_in(page, live_server, login)
        switch_mode(page, mode)
        for url in urls:
            page.goto(live_server + url)
            check_page(page, f"{mode} {url}")
        if login == voter.login:
            page.goto(live_server + b)
            page.get_by_label("长椅", exact=False).check()
            page.click("main form button.primary")
            page.wait_for_selector(".flash-success")
            page.goto(live_server + b + "/results")
            check_page(page, f"{mode} results with a vote")
            if mode == "en":
                assert "headcount only" in page.inner_text("main")


def test_htmx_swaps_keep_focus_and_are_announced(app, live_server, new_page, factory):
    """Keyboard only: posting a comment, a reply, an upvote and a support each change the page in
    place; focus lands on the new content instead of falling to <body>, the polite live region
    says what happened, and the topic's comment count follows."""
    from proposals.models import Proposal

    community = factory.community()
    lin = factory.user(community, Role.VERIFIED, display_name="林阿婆")
    wang = factory.user(community, Role.VERIFIED, display_name="王师傅")
    consultation = factory.consultation(community)
    topic = factory.topic(consultation, lin)
    with app.app_context():
        proposal = Proposal(consultation_id=consultation.id, author_id=lin.id, title="加长椅",
                            category="other", site="空地", status="evaluating",
                            submitted_at=utcnow())
        db.session.add(proposal)
        db.session.commit()
        proposal_url = f"{live_server}/c/{community.id}/proposals/{proposal.id}"
    topic_url = f"{live_server}/c/{community.id}/topics/{topic.id}"
    focused = "document.activeElement.closest('[id]') && document.activeElement.closest('[id]').id"
    live = "#live-status"

    page = new_page()
    log_in(page, live_server, lin.login)
    switch_mode(page, "en")  # the messages are new: their Chinese comes with the catalog
    page.goto(topic_url)
    assert page.inner_text("#comments-title") == "0 comments"
    assert page.get_attribute(live, "aria-live") == "polite"
    page.focus("#comment-body")
    page.keyboard.type("More benches")
    page.keyboard.press("Tab")  # into the stance radios
    page.keyboard.press("Space")
    while page.evaluate("document.activeElement.type") != "submit":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#comment-list .comment")
    page.wait_for_function("document.querySelector('#live-status').innerText.length > 0")
    assert page.inner_text(live) == "Your comment is posted."
    page.wait_for_function("document.activeElement.tagName === 'ARTICLE'")
    assert page.evaluate(focused).startswith("comment-")
    assert "More benches" in page.evaluate("document.activeElement.innerText")
    assert page.inner_text("#comments-title") == "1 comment"
    check_page(page, "topic after an htmx comment")

    other = new_page()
    log_in(other, live_server, wang.login)
    switch_mode(other, "en")
    other.goto(topic_url)
    other.focus("#comment-list .upvote button")
    other.keyboard.press("Enter")
    other.wait_for_selector("#comment-list .upvotes")
    other.wait_for_function("document.querySelector('#live-status').innerText.length > 0")
    assert other.inner_text(live) == "Your upvote is counted: 1 upvote in all."
    # Focus stays on the control, which now takes the upvote back.
    other.wait_for_function("document.activeElement.textContent.includes('Withdraw upvote')")
    other.focus("#comment-list details.reply summary")
    other.keyboard.press("Enter")
    other.keyboard.press("Tab")
    assert other.evaluate("document.activeElement.tagName") == "TEXTAREA"
    other.keyboard.type("Agreed")
    other.keyboard.press("Tab")
    other.keyboard.press("Enter")
    other.wait_for_selector("#comment-list .replies .comment")
    other.wait_for_function("document.querySelector('#live-status').innerText.includes('reply')")
    assert other.inner_text(live) == "Your reply is posted."
    other.wait_for_function("document.activeElement.innerText.includes('Agreed')")
    assert other.inner_text("#comments-title") == "2 comments"
    # A refused comment (empty) leaves focus in the field that says why.
    other.focus("#comment-form button[type=submit]")
    other.evaluate("document.querySelector('#comment-body').removeAttribute('required')")
    other.keyboard.press("Enter")
    other.wait_for_selector("#comment-form .error")
    other.wait_for_function("document.activeElement.id === 'comment-body'")

    other.goto(proposal_url)
    other.focus("#support-form button")
    other.keyboard.press("Enter")
    other.wait_for_selector("#support-form .badge")
    other.wait_for_function("document.querySelector('#live-status').innerText.length > 0")
    assert other.inner_text(live) == "Your support is counted: 1 support in all."
    # Focus stays on the control, which now takes the support back.
    other.wait_for_function("document.activeElement.textContent.includes('Withdraw my support')")
    check_page(other, "proposal after an htmx support")


@pytest.mark.parametrize("mode", ["zh", "en", "large"])
def test_the_header_folds_on_a_phone_and_opens_by_keyboard(app, live_server, new_page, factory,
                                                          mode):
    """At 360 px the page's heading starts near the top (the header took 250 to 640 px before
    the first heading); the menu opens and closes from the keyboard, and works without
    JavaScript. A wide screen shows every link at once. (Axe checks the folded header on every
    page in test_every_page_passes_axe.)"""
    community = factory.community()
    committee = factory.user(community, Role.COMMITTEE)
    members = f"{live_server}/c/{community.id}/members"
    for javascript in (True, False):
        page = new_page(javascript=javascript)
        log_in(page, live_server, committee.login)
        switch_mode(page, mode)
        page.goto(members)
        top = page.evaluate("document.querySelector('h1').getBoundingClientRect().top")
        assert top <= 130, f"{mode}: the first heading starts {top:.0f}px down"
        assert not page.locator(".community-nav").is_visible()
        page.focus("details.site-menu > summary")
        page.keyboard.press("Enter")
        assert page.locator(".community-nav a[aria-current=page]").is_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{mode}: the open menu scrolls sideways by {overflow}px"
        if javascript:
            page.keyboard.press("Escape")
            assert not page.locator(".community-nav").is_visible()
            assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
        else:
            page.click(".community-nav a[href$='/audit']")
            page.wait_for_url(re.compile(r"/audit$"))
    wide = new_page(width=1280)
    log_in(wide, live_server, committee.login)
    wide.goto(members)
    assert not wide.locator("details.site-menu > summary").is_visible()
    for link in (".user-nav a[href$='/account']", ".community-nav a[href$='/audit']",
                 "button[name=locale][value=en]"):
        assert wide.locator(link).is_visible(), link


def test_wide_tables_fit_at_1280_and_stack_on_a_phone(app, live_server, new_page, factory):
    """The results table used to run 814 px wide in a 570 px column, hiding its decision column;
    on a phone the members, households, audit and results tables showed one column with their
    actions out of sight. Now every column is in view at 1280 px, and at 360 px each row is a
    card naming each value; the chart is an SVG with a title and a description of its numbers."""
    from participation.consultations.models import Consultation, Phase
    from proposals.ballots.models import Ballot, BallotOption
    from proposals.models import Proposal

    community = factory.community()
    house = factory.household(community, floor_area=88)
    voter = factory.user(community, Role.VERIFIED, household=house)
    committee = factory.user(community, Role.COMMITTEE)
    factory.user(community, Role.RESIDENT, display_name="新来的居民")
    now = utcnow()
    with app.app_context():
        c = Consultation(community_id=community.id, template="micro_space", title="口袋公园")
        c.phases.append(Phase(kind="vote", starts_at=now - timedelta(days=1),
                              ends_at=now + timedelta(days=5)))
        db.session.add(c)
        db.session.flush()
        ballot = Ballot(consultation_id=c.id, phase_id=c.phases[0].id, title="业主表决",
                        method="approval", max_choices=2, eligibility="household",
                        secrecy="open", preset="civil_ordinary", results_live=True)
        for i, title in enumerate(["3号楼后空地加装带靠背的长椅和遮阳棚", "花坛"]):
            proposal = Proposal(consultation_id=c.id, author_id=voter.id, title=title,
                                category="other", site="空地", status="accepted",
                                submitted_at=now)
            db.session.add(proposal)
            db.session.flush()
            ballot.options.append(BallotOption(proposal_id=proposal.id, position=i))
        db.session.add(ballot)
        from participation.audit.models import AuditEvent
        db.session.add(AuditEvent(action="ballot.save", actor_id=committee.id,
                                  community_id=community.id, target=f"ballot:{ballot.id}",
                                  details={"title": "业主表决"}))
        db.session.commit()
        results = f"/c/{community.id}/ballots/{ballot.id}/results"
    base = f"/c/{community.id}"
    fits = """[...document.querySelectorAll('main table')].map(t => {
        const wrap = t.closest('.table-wrap');
        return t.getBoundingClientRect().right <= wrap.getBoundingClientRect().right + 1; })"""
    cells_in_view = """[...document.querySelectorAll('main table tbody tr > *')]
        .filter(c => c.getBoundingClientRect().right > window.innerWidth + 1
                     || c.getBoundingClientRect().width < 1).length"""

    wide = new_page(width=1280)
    log_in(wide, live_server, committee.login)
    for url in (results, f"{base}/members", f"{base}/households", f"{base}/audit"):
        wide.goto(live_server + url)
        assert all(wide.evaluate(fits)), url
    wide.goto(live_server + results)
    assert wide.locator("td[data-label]").last.is_visible()
    svg = wide.locator("svg[role=img]")
    assert "花坛" in svg.locator("desc").text_content()
    assert svg.get_attribute("aria-describedby") == svg.locator("desc").get_attribute("id")

    phone = new_page()
    log_in(phone, live_server, committee.login)
    for url in (results, f"{base}/members", f"{base}/households", f"{base}/audit"):
        phone.goto(live_server + url)
        assert phone.evaluate(cells_in_view) == 0, f"{url}: cells out of sight at 360 px"
        label = phone.evaluate("""getComputedStyle(document.querySelector(
            'main tbody [data-label]'), '::before').content""")
        assert label not in ("none", "normal", '""'), url
        check_page(phone, f"stacked {url}")
    phone.goto(live_server + f"{base}/members")
    revoke = phone.locator("main a[href$='/revoke']").first
    box = revoke.bounding_box()
    assert box and box["x"] + box["width"] <= 360  # the actions are in reach


@pytest.mark.parametrize("javascript", [True, False])
def test_anyone_reads_published_pages_at_360_px(app, live_server, new_page, factory,
                                                javascript):
    from tests.communities.test_public import published_world

    community, consultation, topic, ids = published_world(app, factory)
    c = f"{live_server}/c/{community.id}"
    page = new_page(javascript=javascript)
    for url, text in ((c, community.name),
                      (f"{c}/consultations/{consultation.id}", "口袋公园改造"),
                      (f"{c}/topics/{topic.id}", "老人没地方坐"),
                      (f"{c}/proposals/{ids['submitted']}", "加长椅"),
                      (f"{c}/meetings/{ids['meeting']}", "三月议事会")):
        page.goto(url)
        assert "/login" not in page.url and text in page.content(), url
        if javascript:  # axe runs as a script in the page
            check_page(page, "anonymous")
    # Instead of the actions, a way in that leads back here.
    page.goto(f"{c}/topics/{topic.id}")
    assert page.locator(".take-part").is_visible()
    assert page.locator("textarea[name=body]").count() == 0
    page.locator(".take-part a").first.click()
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("input[name=login]", factory.user(community, Role.VERIFIED).login)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(rf"/c/{community.id}/topics/{topic.id}$"))
    assert page.locator("textarea[name=body]").count() >= 1  # the comment form


@pytest.mark.parametrize("javascript", [True, False])
def test_a_support_is_withdrawn_in_the_browser(app, live_server, new_page, factory, javascript):
    from tests.communities.test_public import published_world

    community, consultation, topic, ids = published_world(app, factory)
    wang = factory.user(community, Role.VERIFIED, display_name="王师傅")
    page = new_page(javascript=javascript)
    log_in(page, live_server, wang.login)
    page.goto(f"{live_server}/c/{community.id}/proposals/{ids['submitted']}")
    form = page.locator("#support-form")
    form.locator("button").click()
    page.wait_for_selector("#support-form .badge")
    assert "/support/withdraw" in (form.get_attribute("action") or "")
    if javascript:  # axe runs as a script in the page
        check_page(page, "supported")
    form.locator("button").click()
    page.locator('#support-form[action$="/support"]').wait_for()
    assert page.locator("#support-form .badge").count() == 0
    assert "0" in page.locator("#support-form .supports").inner_text()


@pytest.mark.parametrize("javascript", [True, False])
def test_the_planner_merges_into_a_proposal_found_by_search(app, live_server, new_page, factory,
                                                            javascript):
    from proposals.models import Proposal

    community = factory.community()
    lin = factory.user(community, Role.VERIFIED, display_name="林阿婆")
    planner = factory.user(community, Role.PLANNER, display_name="刘规划师")
    consultation = factory.consultation(community)
    with app.app_context():
        made = [Proposal(consultation_id=consultation.id, author_id=lin.id, title=title,
                         category="other", site=site, status="evaluating", submitted_at=utcnow())
                for title, site in [("3号楼加装长椅", "3号楼"), ("长椅", "3号楼后"),
                                    ("凉亭", "花园")]]
        db.session.add_all(made)
        db.session.commit()
        ids = [p.id for p in made]
    page = new_page(javascript=javascript)
    log_in(page, live_server, planner.login)
    page.goto(f"{live_server}/c/{community.id}/proposals/{ids[1]}")
    page.fill("#merge-q", "加装长椅")
    if javascript:  # the results come as the planner types
        page.wait_for_selector("#merge-candidates input[name=target_id]")
        page.wait_for_function("document.querySelector('#live-status').innerText.length > 0")
    else:
        page.click("form[role=search] button[type=submit]")
        page.wait_for_load_state()
    assert page.locator("#merge-candidates input[name=target_id]").count() == 1
    if javascript:  # axe runs in the page
        check_page(page, "merge search results")
    page.check("#merge-candidates input[name=target_id]")
    page.check("#merge-candidates input[type=checkbox]")
    page.click("#merge-candidates button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith(f"/proposals/{ids[0]}")
    with app.app_context():
        assert db.session.get(Proposal, ids[1]).status == "merged"


@pytest.mark.parametrize("javascript", [True, False])
def test_the_committee_records_a_checkup_finding_on_a_phone(app, live_server, new_page, factory,
                                                             javascript):
    community = factory.community()
    committee = factory.user(community, Role.COMMITTEE, display_name="周主任")
    page = new_page(javascript=javascript)
    log_in(page, live_server, committee.login)
    page.goto(f"{live_server}/c/{community.id}/checkup")
    page.click("#item-cc05 a")
    page.check("input[name=state][value=insufficient]")
    page.fill("input[name=value]", "90")
    page.fill("textarea[name=note]", "卫生服务站只有九十平方米")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith(f"/c/{community.id}/checkup#item-cc05")
    row = page.inner_text("#item-cc05")
    assert "90" in row and "卫生服务站只有九十平方米" in row and "不足" in row
    assert "完整度：2.5%" in page.inner_text("main")
    if javascript:
        check_page(page, "checkup after a finding")


@pytest.mark.parametrize("javascript", [True, False])
def test_the_planner_pins_a_site_on_the_site_plan(app, live_server, new_page, factory, tmp_path,
                                                   javascript):
    from PIL import Image

    from participation.plan.models import Site

    community = factory.community()
    planner = factory.user(community, Role.PLANNER)
    drawing = tmp_path / "plan.png"
    Image.new("RGB", (1000, 500), "white").save(drawing)
    page = new_page(javascript=javascript)
    log_in(page, live_server, planner.login)
    page.goto(f"{live_server}/c/{community.id}/sites")
    page.set_input_files("input[name=image]", str(drawing))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server}/c/{community.id}/sites/new")
    page.select_option("select[name=kind]", "idle_land")
    page.fill("input[name=name]", "东门闲置空地")
    if javascript:  # a click a quarter across, half way down the plan fills the coordinates
        page.locator("svg[data-pin-picker]").scroll_into_view_if_needed()
        box = page.locator("svg[data-pin-picker]").bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.5)
        assert abs(float(page.input_value("input[name=x]")) - 25) < 1.5
        assert abs(float(page.input_value("input[name=y]")) - 50) < 1.5
        check_page(page, "site form with its plan")
    else:
        page.fill("input[name=x]", "25")
        page.fill("input[name=y]", "50")
    page.click("main form.stack button[type=submit]")
    page.wait_for_load_state()
    assert "东门闲置空地" in page.inner_text("h1")
    assert page.locator(".site-plan svg circle").count() == 1
    with app.app_context():
        site = db.session.scalar(db.select(Site))
        assert abs(float(site.x) - 25) < 1.5 and abs(float(site.y) - 50) < 1.5


@pytest.mark.parametrize("javascript", [True, False])
def test_a_gap_and_a_winning_proposal_become_projects_of_the_plan(app, live_server, new_page,
                                                                  factory, at, javascript):
    """The committee records a gap and turns it into a project; the planner adds the ballot's
    winner; each project shows its priority score with the formula."""
    from tests.plan.test_plan import Seeded

    seeded = Seeded(app, factory, at)
    community = seeded.community
    committee = new_page(javascript=javascript)
    log_in(committee, live_server, seeded.vote.committee.login)
    committee.goto(f"{live_server}/c/{community.id}/checkup")
    committee.click("#item-cc07 a")
    committee.check("input[name=state][value=insufficient]")
    committee.fill("input[name=value]", "1")
    committee.fill("textarea[name=note]", "只有一个快递柜")
    committee.click("main form button[type=submit]")
    committee.wait_for_load_state()
    committee.click("#item-cc07 form button")
    committee.wait_for_load_state()
    main = committee.inner_text("main")
    assert "优先级得分：10" in main and "10 × 1（清单缺口） = 10" in main
    assert "优先级得分怎么算" in main
    if javascript:
        check_page(committee, "a project made from a gap")

    planner = new_page(javascript=javascript)
    log_in(planner, live_server, seeded.vote.planner.login)
    planner.goto(f"{live_server}/c/{community.id}/plans")
    planner.click("ul.plans a")
    planner.click("text=从来源生成项目")
    planner.wait_for_load_state()
    if javascript:
        check_page(planner, "the plan's builder")
    planner.click("section[aria-labelledby=source-ballot] button:has-text('长椅')")
    planner.wait_for_load_state()
    main = planner.inner_text("main")
    assert "优先级得分：1.5" in main and "0.5 × 3（投票结果） = 1.5" in main
    assert "得票多者优先：获资助" in main
    planner.click("main p.muted a")  # back to the plan
    planner.wait_for_load_state()
    rows = planner.locator("table.stacked tbody tr th").all_inner_texts()
    assert rows == ["清单缺口：邮件和快件寄递服务设施", "长椅"]
    assert "0.5 × 票数（投票结果）" in planner.inner_text("main")
    if javascript:
        check_page(planner, "the plan with its projects")


def test_the_committee_decides_publishes_answers_and_everyone_reads_the_same_list(
        app, live_server, new_page, factory, tmp_path):
    """At 360 px: the committee decides the list, publishes it for objections, a resident
    objects, the committee answers; the XLSX, the print view and the public progress page
    show the same list."""
    from openpyxl import load_workbook

    from participation.plan import operations as plan_ops

    community = factory.community(name="金榜社区")
    chair = factory.user(community, Role.COMMITTEE, display_name="陈主任")
    factory.user(community, Role.COMMITTEE)
    resident = factory.user(community, Role.VERIFIED, display_name="林阿婆")
    titles = ["东门无障碍坡道", "3号楼后长椅", "地下车库改造"]
    with app.test_request_context():
        user = db.session.get(type(chair), chair.id)
        plan = plan_ops.create_plan(user, db.session.get(type(community), community.id),
                                    "2027 年度社区更新方案")
        for title in titles:
            plan_ops.save_project(user, plan, None, title=title, description="", category=None,
                                  item_id=None, site_id=None, cost=None, funding="",
                                  responsible="居委会", timeline="2027年")
        db.session.commit()
        plan_id = plan.id
    url = f"{live_server}/c/{community.id}/plans/{plan_id}"

    committee = new_page()
    log_in(committee, live_server, chair.login)
    committee.goto(url)
    committee.click("text=记录居委会的决定")
    committee.wait_for_load_state()
    check_page(committee, "the decision form")
    committee.fill("textarea[name=members_present]", "陈主任\n黄委员")
    committee.fill("input[name=present]", "2")
    for fieldset, outcome in zip(committee.locator("fieldset.decision").all(),
                                 ("adopt", "adopt", "reject"), strict=True):
        fieldset.locator(f"input[value={outcome}]").check()
        fieldset.locator("input[name^=for-]").fill("2")
    committee.click("main form button[type=submit]")
    committee.wait_for_load_state()
    assert committee.url.endswith("/versions/1"), committee.inner_text("main")[:300]
    check_page(committee, "version 1 of the list")
    committee.goto(url)
    committee.click("button:has-text('公示版本 1')")
    committee.wait_for_load_state()
    assert committee.url.endswith("/notice")
    check_page(committee, "the notice, as the committee sees it")

    neighbour = new_page()
    log_in(neighbour, live_server, resident.login)
    neighbour.goto(f"{url}/notice")
    neighbour.select_option("select[name=project_id]", label="地下车库改造")
    neighbour.fill("textarea[name=reason]", "车库改造应该保留，晚上停车太难")
    neighbour.click("main form button[type=submit]")
    neighbour.wait_for_load_state()
    assert "您的异议已提交" in neighbour.inner_text("main")
    check_page(neighbour, "the notice after objecting")

    committee.reload()
    committee.fill("textarea[name=answer]", "明年列入体检复查，届时再议")
    committee.click("button:has-text('公布答复')")
    committee.wait_for_load_state()
    public = new_page()
    public.goto(f"{url}/notice")
    main = public.inner_text("main")
    assert "车库改造应该保留" in main and "明年列入体检复查" in main and "林阿婆" not in main

    public.goto(f"{url}/versions/1")
    with public.expect_download() as download:
        public.click("a:has-text('Excel (XLSX)')")
    saved = tmp_path / "list.xlsx"
    download.value.save_as(saved)
    book = load_workbook(saved, read_only=True)
    sheet = list(book.worksheets[0].values)
    book.close()
    listed = [(row[1], row[2]) for row in sheet[2:]]
    public.goto(f"{url}/versions/1/print")
    check_page(public, "the print view")
    printed = [(row.locator("th").inner_text(), row.locator("td").nth(1).inner_text())
               for row in public.locator("table.print-table tbody tr").all()]
    assert [t for t, _o in printed] == [t for t, _o in listed]
    assert dict(listed) == {"东门无障碍坡道": "采纳", "3号楼后长椅": "采纳",
                            "地下车库改造": "否决"}
    public.goto(f"{live_server}/c/{community.id}/our-plan")
    check_page(public, "the public page of the plan")
    shown = public.locator("table.stacked tbody th").all_inner_texts()
    assert shown == [t for t, o in listed if o == "采纳"]
    assert "公示至" in public.inner_text("main")


def test_a_childs_drawing_from_consent_to_withdrawal_in_the_browser(app, live_server, new_page,
                                                                     factory, at, tmp_path,
                                                                     monkeypatch):
    """A guardian consents, adds a child and sends a drawing; the planner approves it; the child
    places a sticker; the gallery and the plan builder show it; the guardian withdraws and it
    disappears everywhere. Every page passes axe at 360 px."""
    from participation.consultations.models import Consultation, Phase
    from participation.plan import operations as plan_ops
    from proposals.designs.models import DesignCall

    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path))
    community = factory.community(name="金榜社区")
    guardian = factory.user(community, Role.VERIFIED)
    planner = factory.user(community, Role.PLANNER)
    now = utcnow()
    with app.test_request_context():
        consultation = Consultation(community_id=community.id, template="children_design",
                                    title="口袋乐园")
        consultation.phases = [
            Phase(kind="design", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1)),
            Phase(kind="children_vote", starts_at=now + timedelta(days=1),
                  ends_at=now + timedelta(days=8))]
        db.session.add(consultation)
        db.session.flush()
        call = DesignCall(consultation_id=consultation.id, community_id=community.id,
                          title="我们的口袋乐园", prompt="你想在这里玩什么？", age_bands="6-8,9-11")
        db.session.add(call)
        plan = plan_ops.create_plan(db.session.get(type(planner), planner.id),
                                    db.session.get(type(community), community.id), "2027 年方案")
        db.session.commit()
        call_url, plan_id = f"/c/{community.id}/design-calls/{call.id}", plan.id
    c = f"{live_server}/c/{community.id}"
    drawing = tmp_path / "drawing.jpg"
    drawing.write_bytes(image_bytes("JPEG", (400, 300), exif=True))

    page = new_page()
    log_in(page, live_server, guardian.login)
    page.goto(f"{c}/children")
    check_page(page, "my children")
    page.click("main a.button.primary")  # read the notice and answer
    check_page(page, "consent")
    page.check("input[name=answer][value=agree]")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/children/new$"))
    check_page(page, "add a child")
    page.fill("input[name=nickname]", "小树")
    page.check("input[name=age_band][value='9-11']")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/children$"))
    page.goto(live_server + call_url)
    check_page(page, "call")
    page.click("text=提交设计")
    check_page(page, "send a design")
    page.fill("input[name=title]", "彩虹滑梯")
    page.fill("textarea[name=want]", "想要会变颜色的滑梯")
    page.set_input_files("input[name=drawing]", str(drawing))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"#mine$"))
    assert "等待审核" in page.inner_text("#mine ~ ul, section[aria-labelledby=mine]")
    check_page(page, "call with a pending design")

    staff = new_page()
    log_in(staff, live_server, planner.login)
    staff.goto(f"{live_server}{call_url}/review")
    check_page(staff, "review")
    staff.click("main button.primary")  # approve
    staff.wait_for_load_state()
    assert "已进入画廊" in staff.inner_text(".flash-success")

    at(now + timedelta(days=2))  # the children's vote
    page.goto(live_server + call_url)
    page.click("button:has-text('贴一张贴纸')")
    page.wait_for_load_state()
    assert "还剩 2 张" in page.inner_text(".flash-success")
    check_page(page, "sticker vote")
    visitor = new_page()
    visitor.goto(live_server + call_url)
    check_page(visitor, "gallery")
    gallery = visitor.inner_text("main")
    assert "彩虹滑梯" in gallery and "小树，9-11 岁" in gallery and "孩子们最喜欢的" in gallery
    image = visitor.locator(".gallery img").first.get_attribute("src")
    staff.goto(f"{c}/plans/{plan_id}/builder")
    check_page(staff, "builder")
    assert "儿童设计：彩虹滑梯" in staff.inner_text("main")

    page.goto(f"{c}/children/withdraw")
    check_page(page, "withdraw")
    assert "1 幅画" in page.inner_text("main") and "1 张贴纸" in page.inner_text("main")
    page.click("main button.danger")
    page.wait_for_url(re.compile(r"/children$"))
    visitor.goto(live_server + call_url)
    assert "彩虹滑梯" not in visitor.inner_text("main")
    assert visitor.goto(live_server + image).status == 404
    staff.goto(f"{c}/plans/{plan_id}/builder")
    assert "彩虹滑梯" not in staff.inner_text("main")
