"""Children's design calls, from the guardian's, the planner's and the public's side: no child
data without consent, pre-moderation, drawings stripped of metadata and served only to who may
see them, sticker limits under concurrency, workshops on paper consents, results by age band,
promotion into a proposal and the plan source, and withdrawal deleting it all."""
from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from participation.children.models import ChildProfile, GuardianConsent
from participation.consultations.models import Consultation, Phase
from participation.extensions import db
from participation.phases import TEMPLATES
from participation.policy import Role
from proposals.designs.models import Design, DesignCall, Sticker
from proposals.models import Proposal
from tests.conftest import START, click_together, client_for, image_bytes, post
from tests.plan.test_decision import text

DESIGN_PHASE = START + timedelta(days=1)
VOTE_PHASE = START + timedelta(days=22)


def gps_jpeg() -> bytes:
    """A phone photo of a drawing, with the place it was taken in its EXIF and the child's
    name in a JPEG comment."""
    image = Image.new("RGB", (640, 480), "skyblue")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (24.0, 28.0, 48.0), 3: "E", 4: (118.0, 5.0, 24.0)})
    out = BytesIO()
    image.save(out, "JPEG", exif=exif, comment="张小明 实验小学三年级".encode())
    return out.getvalue()


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path))
    return tmp_path / "designs"


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.jpg")} if folder.exists() else set()


@pytest.fixture
def call(app, factory, at):
    """A children's design consultation (design collection from START + 0, 21 days; then the
    children's vote, 7 days), its call for 6 to 11 year-olds, a guardian who consented with
    two children (one too old for the call), a planner, a moderator and a neighbour."""
    community = factory.community(name="金榜社区")
    people = {"guardian": factory.user(community, Role.VERIFIED),
              "neighbour": factory.user(community, Role.VERIFIED),
              "planner": factory.user(community, Role.PLANNER),
              "moderator": factory.user(community, Role.MODERATOR),
              "resident": factory.user(community, Role.RESIDENT)}
    outsider = factory.user(factory.community(), Role.PLANNER)
    with app.app_context():
        consultation = Consultation(community_id=community.id, template="children_design",
                                    title="口袋乐园")
        start = START
        for spec in TEMPLATES["children_design"].phases:
            consultation.phases.append(Phase(kind=spec.kind, starts_at=start,
                                             ends_at=start + timedelta(days=spec.days)))
            start += timedelta(days=spec.days)
        db.session.add(consultation)
        db.session.flush()
        design_call = DesignCall(consultation_id=consultation.id, community_id=community.id,
                                 title="我们的口袋乐园", prompt="你想在这里玩什么？",
                                 age_bands="6-8,9-11")
        consent = GuardianConsent(user_id=people["guardian"].id, community_id=community.id,
                                  notice_version=1, agreed=True)
        db.session.add_all([design_call, consent])
        db.session.flush()
        kids = [ChildProfile(community_id=community.id, guardian_id=people["guardian"].id,
                             consent_id=consent.id, nickname=name, age_band=band)
                for name, band in (("小树", "9-11"), ("大山", "12-14"))]
        db.session.add_all(kids)
        db.session.commit()
        ids = {"call": design_call.id, "consultation": consultation.id, "child": kids[0].id,
               "too_old": kids[1].id}
    at(DESIGN_PHASE)
    base = f"/c/{community.id}"
    return {"community": community, "people": people, "outsider": outsider, "ids": ids,
            "base": base, "page": f"{base}/design-calls/{ids['call']}"}


def send_design(browser, call, title="彩虹滑梯", drawing=None, child=None):
    return post(browser, f"{call['page']}/submit", {
        "child_id": str(child or call["ids"]["child"]), "title": title,
        "want": "想要会变颜色的滑梯",
        "drawing": (BytesIO(drawing or gps_jpeg()), "drawing.jpg", "image/jpeg")},
        page="/", content_type="multipart/form-data")


def only_design(app) -> Design:
    with app.app_context():
        return db.session.scalar(select(Design))


def approve(app, call, design_id, who="planner"):
    browser = client_for(app, call["people"][who])
    assert post(browser, f"{call['base']}/designs/{design_id}/moderate", {"status": "approved"},
                page=f"{call['page']}/review").status_code == 303


def test_no_drawing_or_sticker_is_kept_without_valid_consent(app, call, uploads, at):
    neighbour = client_for(app, call["people"]["neighbour"])  # never consented
    sent = send_design(neighbour, call)
    assert sent.status_code == 303 and sent.headers["Location"].endswith(
        f"/c/{call['community'].id}/children/consent")
    assert files(uploads) == set() and only_design(app) is None
    # The notice changes: the guardian's consent no longer counts until answered again.
    guardian = client_for(app, call["people"]["guardian"])
    app.config["CHILDREN_NOTICE_VERSION"] = 2
    try:
        assert send_design(guardian, call).status_code == 303
        assert files(uploads) == set() and only_design(app) is None
    finally:
        app.config["CHILDREN_NOTICE_VERSION"] = 1
    # With consent: one design, waiting for review, its files written.
    assert send_design(guardian, call).status_code == 303
    design = only_design(app)
    assert design.status == "pending" and len(files(uploads)) == 2
    approve(app, call, design.id)
    # A sticker without valid consent is refused and nothing is kept.
    at(VOTE_PHASE)
    app.config["CHILDREN_NOTICE_VERSION"] = 2
    try:
        refused = post(guardian, f"{call['base']}/designs/{design.id}/sticker",
                       {"child_id": str(call["ids"]["child"])}, page=call["page"])
        assert refused.status_code == 303
        assert "请先阅读儿童个人信息保护告知书" in text(
            guardian.get(call["page"]).get_data(as_text=True))
    finally:
        app.config["CHILDREN_NOTICE_VERSION"] = 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Sticker)) == 0


def test_a_drawing_is_reencoded_and_seen_only_by_guardian_and_staff_until_approved(
        app, call, uploads):
    guardian = client_for(app, call["people"]["guardian"])
    # The call's age bands and the guardian's own children only.
    too_old = send_design(guardian, call, child=call["ids"]["too_old"])
    assert too_old.status_code == 422 and "邀请 6-8、9-11 岁的孩子" in text(
        too_old.get_data(as_text=True))
    phone = post(guardian, f"{call['page']}/submit", {
        "child_id": str(call["ids"]["child"]), "title": "滑梯", "want": "我叫小明，电话13912345678",
        "drawing": (BytesIO(gps_jpeg()), "d.jpg", "image/jpeg")}, page="/",
        content_type="multipart/form-data")
    assert phone.status_code == 422 and "请不要写电话号码" in text(phone.get_data(as_text=True))
    not_a_picture = send_design(guardian, call, drawing=b"%PDF-1.4 not a picture")
    assert not_a_picture.status_code == 422 and 'value="彩虹滑梯"' in \
        not_a_picture.get_data(as_text=True)  # what was typed stays
    assert files(uploads) == set()
    # A double click sends one design.
    assert [send_design(guardian, call).status_code for _ in range(2)] == [303, 303]
    design = only_design(app)
    stored = files(uploads)
    assert stored == {design.filename, design.thumbnail}
    assert all(re.fullmatch(r"[0-9a-f]{32}\.jpg", name) for name in stored)
    for name in stored:
        with Image.open(uploads / name) as kept:
            assert kept.format == "JPEG" and not kept.getexif()
            assert "exif" not in kept.info and "comment" not in kept.info
        assert "张小明".encode() not in (uploads / name).read_bytes()
    source = Image.open(BytesIO(gps_jpeg()))
    assert source.getexif().get_ifd(0x8825) and source.info["comment"]  # the photo did carry

    image = f"{call['base']}/designs/{design.id}/full"
    anonymous = app.test_client()
    seen = {"anonymous": anonymous.get(image).status_code}
    for who in ("guardian", "planner", "moderator", "neighbour", "resident"):
        response = client_for(app, call["people"][who]).get(image)
        seen[who] = response.status_code
        response.close()
    outsider = client_for(app, call["outsider"]).get(image)
    seen["outsider"] = outsider.status_code
    outsider.close()
    assert seen == {"anonymous": 404, "guardian": 200, "planner": 200, "moderator": 200,
                    "neighbour": 404, "resident": 404, "outsider": 404}
    # Not in the public gallery before approval, nor after a refusal.
    assert "彩虹滑梯" not in anonymous.get(call["page"]).get_data(as_text=True)
    assert "等待审核" in text(guardian.get(call["page"]).get_data(as_text=True))
    # Nobody approves their own child's drawing.
    with app.app_context():
        from participation.communities.models import Membership

        db.session.execute(db.update(Membership).where(
            Membership.user_id == call["people"]["guardian"].id).values(role="moderator"))
        db.session.commit()
    own = post(guardian, f"{call['base']}/designs/{design.id}/moderate", {"status": "approved"},
               page=call["page"])
    assert own.status_code == 403 and "请由其他规划师或版主审核" in text(own.get_data(as_text=True))
    assert only_design(app).status == "pending"
    approve(app, call, design.id, who="moderator")
    gallery = text(anonymous.get(call["page"]).get_data(as_text=True))
    assert "彩虹滑梯" in gallery and "小树，9-11 岁" in gallery
    response = anonymous.get(image)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"

    # Never kept by a shared cache, and asked again at every view: a withdrawal removes it
    # from the browser's cache too.
    assert {"private", "no-cache"} <= set(re.split(r",\s*", response.headers["Cache-Control"]))
    response.close()
    # The guardian deletes the drawing: gone from the gallery, the disk and the address.
    delete = f"{call['base']}/designs/{design.id}/delete"
    assert "贴在上面的贴纸会立即删除" in text(guardian.get(delete).get_data(as_text=True))
    assert post(guardian, delete, page=delete).status_code == 303
    assert files(uploads) == set() and anonymous.get(image).status_code == 404
    assert post(guardian, delete, page=call["page"]).status_code == 303  # a second click
    assert "彩虹滑梯" not in anonymous.get(call["page"]).get_data(as_text=True)


def test_a_child_places_at_most_n_stickers_even_at_once(app, call, uploads, at):
    guardian = client_for(app, call["people"]["guardian"])
    for title in ("彩虹滑梯", "树屋"):
        assert send_design(guardian, call, title=title).status_code == 303
    with app.app_context():
        first, second = db.session.scalars(select(Design.id).order_by(Design.id)).all()
    for design_id in (first, second):
        approve(app, call, design_id)
    # Not before the children's vote opens.
    early = post(guardian, f"{call['base']}/designs/{first}/sticker",
                 {"child_id": str(call["ids"]["child"])}, page=call["page"])
    assert early.status_code == 403
    at(VOTE_PHASE)
    statuses = click_together(app, guardian, f"{call['base']}/designs/{first}/sticker",
                              page=call["page"], times=8,
                              data={"child_id": str(call["ids"]["child"])})
    assert statuses == [303] * 8
    with app.app_context():
        slots = sorted(db.session.scalars(select(Sticker.slot)))
    assert slots == [1, 2, 3]
    page = text(guardian.get(call["page"]).get_data(as_text=True))
    assert "小树 的贴纸都贴完了" in page
    over = post(guardian, f"{call['base']}/designs/{second}/sticker",
                {"child_id": str(call["ids"]["child"])}, page=call["page"])
    assert over.status_code == 303
    assert "都贴完了" in text(guardian.get(call["page"]).get_data(as_text=True))
    # Taking one back frees a sticker to move.
    assert post(guardian, f"{call['base']}/designs/{first}/take-back",
                {"child_id": str(call["ids"]["child"])}, page=call["page"]).status_code == 303
    assert post(guardian, f"{call['base']}/designs/{second}/sticker",
                {"child_id": str(call["ids"]["child"])}, page=call["page"]).status_code == 303
    results = text(app.test_client().get(call["page"]).get_data(as_text=True))
    assert "孩子们最喜欢的" in results
    assert re.search(r"彩虹滑梯 2 0 2", results) and re.search(r"树屋 1 0 1", results)
    # Another guardian, even one who consented, cannot use someone else's child.
    neighbour = client_for(app, call["people"]["neighbour"])
    children = f"/c/{call['community'].id}/children"
    assert post(neighbour, f"{children}/consent", {"answer": "agree"},
                page=f"{children}/consent").status_code == 303
    assert post(neighbour, f"{call['base']}/designs/{second}/sticker",
                {"child_id": str(call["ids"]["child"])}, page=call["page"]).status_code == 303
    assert "请选择您的一个孩子" in text(neighbour.get(call["page"]).get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Sticker)) == 3


def test_withdrawal_deletes_drawings_files_stickers_and_the_plan_source(app, call, uploads, at):
    from participation.plan.models import Plan, Project, ProjectSource

    guardian = client_for(app, call["people"]["guardian"])
    assert send_design(guardian, call).status_code == 303
    design = only_design(app)
    approve(app, call, design.id)
    at(VOTE_PHASE)
    assert post(guardian, f"{call['base']}/designs/{design.id}/sticker",
                {"child_id": str(call["ids"]["child"])}, page=call["page"]).status_code == 303
    planner = client_for(app, call["people"]["planner"])
    # The plan builder offers the children's favourite, named by the design, never the child.
    with app.app_context():
        plan = Plan(community_id=call["community"].id, title="2027 年方案", weights={})
        db.session.add(plan)
        db.session.flush()
        project = Project(plan_id=plan.id, title="口袋乐园")
        db.session.add(project)
        db.session.flush()
        db.session.add(ProjectSource(plan_id=plan.id, project_id=project.id, kind="children",
                                     ref=str(design.id), title="儿童设计：彩虹滑梯", signal=1))
        db.session.commit()
        plan_id, project_id = plan.id, project.id
    with app.test_request_context():
        from participation.plan import operations as plan_ops

        plan_ops.rescore(db.session.get(Plan, plan_id))
        db.session.commit()
        assert db.session.get(Project, project_id).score == 1
    builder = text(planner.get(f"{call['base']}/plans/{plan_id}/builder")
                   .get_data(as_text=True))
    assert "儿童设计：彩虹滑梯" in builder and "1 张贴纸" in builder and "小树" not in builder
    images = [f"{call['base']}/designs/{design.id}/{size}" for size in ("full", "thumb")]
    assert len(files(uploads)) == 2
    withdrawn = post(guardian, f"/c/{call['community'].id}/children/withdraw",
                     page=f"/c/{call['community'].id}/children/withdraw")
    assert withdrawn.status_code == 303
    anonymous = app.test_client()
    assert [anonymous.get(url).status_code for url in images] == [404, 404]
    assert [guardian.get(url).status_code for url in images] == [404, 404]
    assert files(uploads) == set()
    page = text(anonymous.get(call["page"]).get_data(as_text=True))
    assert "彩虹滑梯" not in page and "还没有人贴贴纸" in page and "画廊里还没有设计" in page
    assert "彩虹滑梯" not in text(planner.get(
        f"{call['base']}/plans/{plan_id}/builder").get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Sticker)) == 0
        assert db.session.scalar(select(func.count()).select_from(ProjectSource)) == 0
        assert db.session.get(Project, project_id).score == 0  # the plan's ranking follows
        assert db.session.scalar(select(func.count()).select_from(ChildProfile).where(
            ChildProfile.guardian_id == call["people"]["guardian"].id)) == 0


def workshop_form(rows, consents="2", collected_on=None):
    data = {"place": "社区活动室", "held_on": DESIGN_PHASE.date().isoformat(),
            "collected_by": "苏阿姨", "consents": consents,
            "collected_on": (collected_on or DESIGN_PHASE.date()).isoformat()}
    for i, (nickname, band, title) in enumerate(rows):
        data.update({f"drawings-{i}-nickname": nickname, f"drawings-{i}-age_band": band,
                     f"drawings-{i}-title": title,
                     f"drawings-{i}-drawing": (BytesIO(image_bytes()), "d.png", "image/png")})
    return data


def test_a_workshop_on_paper_consents_its_tally_and_a_deletion_on_request(app, call, uploads,
                                                                          at):
    from participation.audit.models import AuditEvent
    from participation.children.models import PaperConsent

    planner = client_for(app, call["people"]["planner"])
    url = f"{call['page']}/workshops/new"
    # More children than consents is refused, and nothing is written.
    over = post(planner, url, workshop_form([("小星", "6-8", "花朵跷跷板"), ("阿哲", "9-11", "攀爬网"),
                                             ("糖糖", "9-11", "小动物座椅")]),
                page=url, content_type="multipart/form-data")
    assert over.status_code == 422 and "孩子的人数多于纸质同意书的份数" in text(
        over.get_data(as_text=True))
    half = post(planner, url, workshop_form([("小星", "6-8", "")]), page=url,
                content_type="multipart/form-data")
    assert half.status_code == 422 and "请修改标出的内容" in text(half.get_data(as_text=True))
    assert re.search(r'id="drawings-0-title-error"[^>]*>[^<]*请给设计起一个', half.get_data(as_text=True))
    assert 'value="小星"' in half.get_data(as_text=True)
    assert files(uploads) == set()
    # A drawing that is no picture is named in its own row, and nothing is kept.
    bad = workshop_form([("小星", "6-8", "花朵跷跷板"), ("阿哲", "9-11", "攀爬网")])
    bad["drawings-1-drawing"] = (BytesIO(b"not a picture"), "d.png", "image/png")
    refused = post(planner, url, bad, page=url, content_type="multipart/form-data")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and files(uploads) == set()
    assert re.search(r'id="drawings-1-drawing-error"[^>]*>[^<]*无法读取', html)
    # Sent twice (a double click): one workshop, one set of drawings.
    for _ in range(2):
        done = post(planner, url, workshop_form([("小星", "6-8", "花朵跷跷板"),
                                                 ("阿哲", "9-11", "攀爬网")]),
                    page=url, content_type="multipart/form-data")
        assert done.status_code == 303
    gallery = text(app.test_client().get(call["page"]).get_data(as_text=True))
    assert "花朵跷跷板" in gallery and "小星，6-8 岁" in gallery and "阿哲，9-11 岁" in gallery
    assert "苏阿姨" not in gallery  # the attestation is for staff
    with app.app_context():
        attested = db.session.scalar(select(PaperConsent))
        assert (attested.collected_by, attested.count) == ("苏阿姨", 2)
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "children.paper_consents"))
        assert event.details == {"consents": "2", "children": "2"}
        workshop_id = db.session.scalar(select(func.max(Design.workshop_id)))
        seesaw, net = db.session.scalars(select(Design.id).order_by(Design.id)).all()
    # The tally: 2 children hold 6 stickers; more is refused, the typed counts stay.
    tally = f"{call['base']}/workshops/{workshop_id}/tally"
    too_many = post(planner, tally, {f"t-{seesaw}-6-8": "5", f"t-{net}-9-11": "2"}, page=tally)
    assert too_many.status_code == 422 and "一共只有 6 张贴纸" in text(
        too_many.get_data(as_text=True))
    assert 'value="5"' in too_many.get_data(as_text=True)
    typo = post(planner, tally, {f"t-{seesaw}-6-8": "四", f"t-{net}-9-11": "2"}, page=tally)
    assert typo.status_code == 422 and "整数" in text(typo.get_data(as_text=True))
    assert re.search(r'value="四"[^>]*aria-invalid="true"', typo.get_data(as_text=True))
    assert post(planner, tally, {f"t-{seesaw}-6-8": "4", f"t-{net}-9-11": "2"},
                page=tally).status_code == 303
    results = text(app.test_client().get(call["page"]).get_data(as_text=True))
    assert re.search(r"花朵跷跷板 4 4 0", results) and re.search(r"攀爬网 2 0 2", results)
    # A guardian asks on paper for their child's data to go: the planner deletes it.
    with app.app_context():
        child_files = {n for d in db.session.scalars(select(Design).where(Design.id == net))
                       for n in (d.filename, d.thumbnail)}
    confirm = text(planner.get(f"{call['base']}/designs/{net}/delete").get_data(as_text=True))
    assert "删除 阿哲？" in confirm and "1 幅画" in confirm
    assert post(planner, f"{call['base']}/designs/{net}/delete",
                page=f"{call['base']}/designs/{net}/delete").status_code == 303
    assert not child_files & files(uploads) and len(files(uploads)) == 2
    after = text(app.test_client().get(call["page"]).get_data(as_text=True))
    assert "攀爬网" not in after and "阿哲" not in after and re.search(r"花朵跷跷板 4 4 0", after)


def test_a_planner_promotes_a_design_into_a_proposal_credited_to_the_children(app, call,
                                                                              uploads):
    guardian = client_for(app, call["people"]["guardian"])
    assert send_design(guardian, call).status_code == 303
    design = only_design(app)
    planner = client_for(app, call["people"]["planner"])
    promote = f"{call['base']}/designs/{design.id}/promote"
    assert post(planner, promote, page=call["page"]).status_code == 303  # not yet approved
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0
    approve(app, call, design.id)
    made = [post(planner, promote, page=call["page"]) for _ in range(2)]
    assert [m.status_code for m in made] == [303, 303]
    assert made[0].headers["Location"] == made[1].headers["Location"]  # one proposal
    page = text(app.test_client().get(made[0].headers["Location"]).get_data(as_text=True))
    assert "彩虹滑梯" in page and "金榜社区的孩子们" in page and "查看原画" in page
    assert "小树" not in page  # the proposal outlives the child's data: no nickname in it
    with app.app_context():
        proposal = db.session.scalar(select(Proposal))
        assert proposal.author_id is None and proposal.status == "evaluating"
        assert f"design-{design.id}" in proposal.description
    # The guardian withdraws: the proposal stays the community's, without the child's words.
    children = f"/c/{call['community'].id}/children"
    assert post(guardian, f"{children}/withdraw", page=f"{children}/withdraw").status_code == 303
    after = text(app.test_client().get(made[0].headers["Location"]).get_data(as_text=True))
    assert "彩虹滑梯" in after and "想要会变颜色的滑梯" not in after and "原画已撤回" in after


def test_a_planner_edits_a_call_and_its_age_bands_stay_ticked(app, call):
    planner = client_for(app, call["people"]["planner"])
    edit = f"{call['page']}/edit"
    form = planner.get(edit).get_data(as_text=True)
    ticked = set(re.findall(r'value="([\d-]+)"[^>]*checked|checked[^>]*value="([\d-]+)"', form))
    assert {a or b for a, b in ticked} == {"6-8", "9-11"}
    saved = post(planner, edit, {"title": "新名字", "prompt": "画一画", "site_id": "",
                                 "age_bands": ["6-8", "9-11", "12-14"]}, page=edit)
    assert saved.status_code == 303
    assert "6-8、9-11、12-14 岁的孩子" in text(planner.get(call["page"]).get_data(as_text=True))
    # Opening a call twice by a double click opens one.
    new = f"{call['base']}/consultations/{call['ids']['consultation']}/design-calls/new"
    for _ in range(2):
        assert post(planner, new, {"title": "第二次征集", "prompt": "画一画", "site_id": "",
                                   "age_bands": ["9-11"]}, page=new).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DesignCall)) == 2


def test_the_gallery_costs_the_same_queries_whatever_its_size_and_pages(app, call, at,
                                                                        count_queries):
    guardian = client_for(app, call["people"]["guardian"])
    at(VOTE_PHASE)

    def add_designs(n):
        with app.app_context():
            for i in range(n):
                db.session.add(Design(call_id=call["ids"]["call"], child_id=call["ids"]["child"],
                                      title=f"设计{n}-{i}", filename="x.jpg", thumbnail="x.jpg",
                                      status="approved"))
            db.session.commit()
            first = db.session.scalar(select(func.min(Design.id)))
            db.session.add(Sticker(call_id=call["ids"]["call"], child_id=call["ids"]["child"],
                                   slot=1 + db.session.scalar(select(func.count()).select_from(
                                       Sticker)), design_id=first))
            db.session.commit()

    counts = []
    for n in (2, 30):
        add_designs(n)
        with count_queries() as counted:
            page = guardian.get(call["page"])
        assert page.status_code == 200
        counts.append(counted.count)
    assert counts[0] == counts[1] <= 8, counts
    second = text(guardian.get(f"{call['page']}?page=2").get_data(as_text=True))
    assert "第 2 页，共 2 页" in second and "设计30-29 小树，9-11 岁" in second
    assert "设计2-0 小树" not in second
    # The children's results count every design, whatever page the gallery is on.
    assert "设计2-0 2 0 2" in second


def test_a_guardian_adds_a_bounded_number_of_children(app, call):
    guardian = client_for(app, call["people"]["guardian"])  # has two already
    new = f"/c/{call['community'].id}/children/new"
    for name in ("跳跳", "豆豆"):
        assert post(guardian, new, {"nickname": name, "age_band": "6-8"},
                    page=new).status_code == 303
    fifth = post(guardian, new, {"nickname": "圆圆", "age_band": "6-8"}, page=new)
    assert fifth.status_code == 422 and "最多添加 4 个孩子" in text(fifth.get_data(as_text=True))
    assert 'value="圆圆"' in fifth.get_data(as_text=True)
    # Sending one already added again is still answered calmly.
    assert post(guardian, new, {"nickname": "豆豆", "age_band": "6-8"},
                page=new).status_code == 303
    email = post(guardian, new, {"nickname": "a@b.cn", "age_band": "6-8"}, page=new)
    assert email.status_code == 422
