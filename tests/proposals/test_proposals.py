"""Proposals: drafting and submitting, supports, lists, the planner's review and merging."""
from __future__ import annotations

import re
from io import BytesIO

from sqlalchemy import func, select, update

from participation.extensions import db
from participation.notifications.models import Notification
from participation.policy import Role
from proposals.models import Proposal, Support
from tests.conftest import click_together, image_bytes, login, post


def setup(app, factory):
    community = factory.community()
    people = {
        "planner": factory.user(community, Role.PLANNER, display_name="刘规划师"),
        "lin": factory.user(community, Role.VERIFIED, display_name="林阿婆"),
        "wang": factory.user(community, Role.VERIFIED, display_name="王师傅"),
        "new": factory.user(community, Role.RESIDENT, display_name="新居民"),
    }
    consultation = factory.consultation(community)
    return community, people, consultation


def client_for(app, user):
    client = app.test_client()
    login(client, user)
    return client


def propose(client, community, consultation, action="submit", **extra):
    url = f"/c/{community.id}/consultations/{consultation.id}/proposals/new"
    form = {"title": "3号楼后加长椅", "description": "老人需要**休息**", "category": "cc12",
            "site": "3号楼后空地", "estimated_cost": "8000", "action": action, **extra}
    return post(client, url, form, page=url, content_type="multipart/form-data")


def proposal_id(response) -> int:
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_verified_resident_submits_with_photos_others_support_once(app, factory):
    community, people, consultation = setup(app, factory)
    lin = client_for(app, people["lin"])
    response = propose(lin, community, consultation, photos=[
        (BytesIO(image_bytes("JPEG", exif=True)), "a.jpg"), (BytesIO(image_bytes()), "b.png")])
    assert response.status_code == 303
    pid = proposal_id(response)
    page = lin.get(f"/c/{community.id}/proposals/{pid}").get_data(as_text=True)
    assert "<strong>休息</strong>" in page and page.count("size=") == 0
    thumbs = re.findall(r'src="([^"]+/thumb)"', page)
    assert len(thumbs) == 2
    thumb = lin.get(thumbs[0])
    assert thumb.mimetype == "image/jpeg" and b"GPS" not in thumb.get_data()
    thumb.close()

    wang = client_for(app, people["wang"])
    url = f"/c/{community.id}/proposals/{pid}/support"
    assert post(wang, url, page=f"/c/{community.id}/proposals/{pid}").status_code == 303
    assert post(wang, url, page=f"/c/{community.id}/proposals/{pid}").status_code == 303
    assert post(lin, url, page=f"/c/{community.id}/proposals/{pid}").status_code == 403  # own
    newcomer = client_for(app, people["new"])
    assert post(newcomer, url, page=f"/c/{community.id}/proposals/{pid}").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Support)) == 1


def test_unverified_residents_cannot_propose_and_drafts_stay_private(app, factory):
    community, people, consultation = setup(app, factory)
    assert propose(client_for(app, people["new"]), community, consultation).status_code == 403
    lin = client_for(app, people["lin"])
    draft = proposal_id(propose(lin, community, consultation, action="draft"))
    wang = client_for(app, people["wang"])
    assert wang.get(f"/c/{community.id}/proposals/{draft}").status_code == 404
    assert "3号楼后加长椅" not in wang.get(f"/c/{community.id}/proposals").get_data(as_text=True)
    edit = f"/c/{community.id}/proposals/{draft}/edit"
    response = post(lin, edit, {"title": "加长椅和遮阳棚", "category": "other", "site": "3号楼后",
                                "action": "submit"}, page=edit, content_type="multipart/form-data")
    assert response.status_code == 303
    assert "加长椅和遮阳棚" in wang.get(f"/c/{community.id}/proposals").get_data(as_text=True)
    assert lin.get(edit).status_code == 403  # submitted proposals are no longer edited


def test_bad_input_keeps_what_was_typed(app, factory):
    community, people, consultation = setup(app, factory)
    lin = client_for(app, people["lin"])
    response = propose(lin, community, consultation, estimated_cost="-5",
                       photos=[(BytesIO(b"not a picture"), "x.jpg")])
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="3号楼后空地"' in html
    too_many = propose(lin, community, consultation, photos=[
        (BytesIO(image_bytes()), f"{n}.png") for n in range(6)])
    assert "5" in too_many.get_data(as_text=True) and too_many.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_a_photo_past_the_limit_is_refused_in_the_form_with_the_text_kept(app, factory):
    community, people, consultation = setup(app, factory)
    lin = client_for(app, people["lin"])
    url = f"/c/{community.id}/consultations/{consultation.id}/proposals/new"
    form_page = lin.get(url).get_data(as_text=True)
    assert "最多 10 MB" in form_page and 'data-max-bytes="10485760"' in form_page
    twenty_mb = BytesIO(image_bytes("JPEG") + b"\0" * (20 * 1024 * 1024))
    response = propose(lin, community, consultation, description="长椅要有靠背",
                       photos=[(twenty_mb, "big.jpg")])
    response.request.environ["wsgi.input"].close()  # the test client's spooled upload
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "big.jpg" in html and "20.0 MB" in html and "10 MB" in html
    assert 'value="3号楼后加长椅"' in html and "长椅要有靠背" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_planner_reviews_and_merges_without_double_counting(app, factory):
    community, people, consultation = setup(app, factory)
    lin, wang = client_for(app, people["lin"]), client_for(app, people["wang"])
    first = proposal_id(propose(lin, community, consultation, title="长椅"))
    second = proposal_id(propose(wang, community, consultation, title="座椅"))
    third_user = factory.user(community, Role.VERIFIED)
    third = client_for(app, third_user)
    for client, pid in ((wang, first), (third, first), (lin, second), (third, second)):
        post(client, f"/c/{community.id}/proposals/{pid}/support",
             page=f"/c/{community.id}/proposals/{pid}")
    planner = client_for(app, people["planner"])
    page = f"/c/{community.id}/proposals/{second}"
    html = post(planner, f"{page}/review", {"status": "rejected", "reason": ""}, page=page,
                follow_redirects=True).get_data(as_text=True)
    assert "理由" in html or "原因" in html
    unconfirmed = post(planner, f"{page}/merge", {"target_id": str(first)}, page=page,
                       follow_redirects=True)
    assert "勾选" in unconfirmed.get_data(as_text=True)  # merging asks for confirmation
    post(planner, f"{page}/merge", {"target_id": str(first), "confirm": "y"}, page=page)
    with app.app_context():
        supporters = db.session.scalars(select(Support.user_id).where(
            Support.proposal_id == first)).all()
        assert sorted(supporters) == sorted([people["wang"].id, third_user.id, people["lin"].id])
        assert db.session.get(Proposal, second).status == "merged"
        told = db.session.scalars(select(Notification.user_id).where(
            Notification.kind == "proposal.answered")).all()
        assert told == [people["wang"].id]
    merged = wang.get(page).get_data(as_text=True)
    assert "长椅" in merged and f"/proposals/{first}" in merged  # readable, with a link
    english = app.test_client()
    login(english, people["wang"])
    post(english, "/language", {"locale": "en", "next": "/"})
    assert "已合并" not in english.get(page).get_data(as_text=True)  # no stored sentence
    rejected = proposal_id(propose(lin, community, consultation, title="被拒"))
    post(planner, f"/c/{community.id}/proposals/{rejected}/review",
         {"status": "rejected", "reason": "不在范围"}, page=page)
    into_rejected = post(planner, f"/c/{community.id}/proposals/{first}/merge",
                         {"target_id": str(rejected), "confirm": "y"}, page=page,
                         follow_redirects=True)
    assert "只有" in into_rejected.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Proposal, first).status != "merged"
    post(planner, f"/c/{community.id}/proposals/{first}/review",
         {"status": "accepted", "reason": "进入投票"}, page=page)
    assert "入围" in lin.get("/notifications").get_data(as_text=True)
    assert post(lin, f"/c/{community.id}/proposals/{first}/review", {"status": "accepted"},
                page=page).status_code == 403


def test_supports_under_concurrent_double_clicks(app, factory):
    community, people, consultation = setup(app, factory)
    pid = proposal_id(propose(client_for(app, people["lin"]), community, consultation))
    wang = client_for(app, people["wang"])
    page = f"/c/{community.id}/proposals/{pid}"
    statuses = click_together(app, wang, f"{page}/support", page=page)
    assert statuses == [303] * 6
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Support)) == 1


def test_lists_filter_sort_and_page_in_bounded_queries(app, factory, count_queries):
    community, people, consultation = setup(app, factory)
    lin = client_for(app, people["lin"])
    url = f"/c/{community.id}/proposals"

    def add(n, start=0):
        with app.app_context():
            from participation.clock import utcnow

            for i in range(start, start + n):
                db.session.add(Proposal(consultation_id=consultation.id,
                                        author_id=people["wang"].id, title=f"提议{i}",
                                        category="cc12" if i % 2 else "other", site="空地",
                                        status="evaluating", submitted_at=utcnow()))
            db.session.commit()

    add(5)
    lin.get(url + "?sort=supported")  # the count taken and the cards drawn once
    with count_queries() as few:
        lin.get(url + "?sort=supported")
    add(200, start=5)
    lin.get(url + "?sort=supported")  # and again after the change, as for the few
    with count_queries() as many:
        html = lin.get(url + "?sort=supported").get_data(as_text=True)
    assert many.count == few.count
    # The cards are kept for every reader until the next change, then drawn again.
    with app.app_context():
        db.session.execute(update(Proposal).where(Proposal.title == "提议204")
                           .values(title="提议204改"))
        db.session.commit()
    with count_queries() as redrawn:
        assert ">提议204改<" in lin.get(url + "?sort=supported").get_data(as_text=True)
    with count_queries() as kept:
        assert ">提议204改<" in lin.get(url + "?sort=supported").get_data(as_text=True)
    # Drawing them again reads the count, the page's keys and its rows again.
    assert kept.count == few.count and redrawn.count <= few.count + 4
    assert html.count('class="card"') == app.config["PAGE_SIZE"]
    titles = lambda h: re.findall(r">(提议\d+)</a>", h)  # noqa: E731
    only = titles(lin.get(url + "?category=cc12").get_data(as_text=True))
    assert only and all(int(t[2:]) % 2 == 1 for t in only)  # the odd ones are cc12
    first = lin.get(url + "?sort=random").get_data(as_text=True)
    second = lin.get(url + "?sort=random&page=2").get_data(as_text=True)
    again = lin.get(url + "?sort=random").get_data(as_text=True)
    assert titles(first) == titles(again)  # the same visitor sees the same order
    assert not set(titles(first)) & set(titles(second))  # and paging neither repeats nor skips


def test_meeting_agenda_items_link_to_proposals(app, factory):
    community, people, consultation = setup(app, factory)
    pid = proposal_id(propose(client_for(app, people["lin"]), community, consultation,
                              title="路灯改造"))
    other_community = factory.community()
    other = factory.consultation(other_community)
    stranger = factory.user(other_community, Role.VERIFIED)
    foreign = proposal_id(propose(client_for(app, stranger), other_community, other,
                                  title="别处的提议"))
    planner = client_for(app, people["planner"])
    url = f"/c/{community.id}/meetings/new"
    form_page = planner.get(url).get_data(as_text=True)
    assert "路灯改造" in form_page and "别处的提议" not in form_page
    base = {"title": "议事会", "held_at": "2027-03-15T19:00", "place": "活动室",
            "attendance": "9", "publish": "y", "items-0-title": "路灯",
            "items-0-decision": "同意改造"}
    refused = post(planner, url, {**base, "items-0-proposal": str(foreign)}, page=url)
    assert refused.status_code == 422 and "其他社区" in refused.get_data(as_text=True)
    saved = post(planner, url, {**base, "items-0-proposal": str(pid)}, page=url)
    assert saved.status_code == 303
    html = client_for(app, people["wang"]).get(saved.headers["Location"]).get_data(as_text=True)
    assert "路灯改造" in html and f"/proposals/{pid}" in html
    edit_page = planner.get(saved.headers["Location"] + "/edit").get_data(as_text=True)
    assert re.search(rf'<option value="{pid}" selected>路灯改造', edit_page)
    # The proposal links back to the meeting that decided it, with the decision.
    proposal_page = client_for(app, people["wang"]).get(
        f"/c/{community.id}/proposals/{pid}").get_data(as_text=True)
    assert f'href="{saved.headers["Location"]}"' in proposal_page and "同意改造" in proposal_page


def test_the_committee_records_deliberation_meetings(app, factory):
    community, people, consultation = setup(app, factory)
    committee = client_for(app, factory.user(community, Role.COMMITTEE))
    url = f"/c/{community.id}/meetings/new"
    saved = post(committee, url, {"title": "居民议事会", "held_at": "2027-03-15T19:00",
                                  "place": "活动室", "attendance": "12", "publish": "y"},
                 page=url)
    assert saved.status_code == 303
    assert "居民议事会" in client_for(app, people["lin"]).get(
        f"/c/{community.id}/meetings").get_data(as_text=True)


def test_photos_are_reencoded_renamed_and_bounded(app, factory):
    from PIL import ExifTags, Image

    from participation.uploads import image_path

    community, people, consultation = setup(app, factory)
    lin = client_for(app, people["lin"])
    # A phone photo with its GPS position.
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (24.0, 29.0, 1.0)})
    original = BytesIO()
    Image.new("RGB", (2400, 1200), "teal").save(original, "JPEG", exif=exif)
    assert Image.open(BytesIO(original.getvalue())).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    pid = proposal_id(propose(lin, community, consultation, photos=[
        (BytesIO(original.getvalue()), "我家门口.jpg")]))
    with app.app_context():
        photo = db.session.get(Proposal, pid).photos[0]
        for name in (photo.filename, photo.thumbnail):
            assert re.fullmatch(r"[0-9a-f]{32}\.jpg", name)
            with Image.open(image_path("proposals", name)) as stored:
                assert not stored.getexif()  # no camera, no GPS
                assert max(stored.size) <= 1600
        with Image.open(image_path("proposals", photo.thumbnail)) as thumb:
            assert max(thumb.size) <= 320

    def refused(upload, name):
        response = propose(lin, community, consultation, title="留住标题",
                           photos=[(BytesIO(upload), name)])
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert 'value="留住标题"' in page  # what was typed is kept
        return page

    # Not an image, whatever the extension says.
    assert "它不是图片" in refused(b"<html><script>alert(1)</script>", "photo.jpg")
    # A decompression bomb: 64 megapixels that compress to a few kilobytes.
    bomb = BytesIO()
    Image.new("1", (8000, 8000)).save(bomb, "PNG")
    assert len(bomb.getvalue()) < 100_000
    assert "像素过多（最多 40 百万像素）" in refused(bomb.getvalue(), "small.png")
    # At most five photos.
    response = propose(lin, community, consultation, title="留住标题", photos=[
        (BytesIO(image_bytes()), f"{i}.png") for i in range(6)])
    assert response.status_code == 422 and "最多上传 5 张照片" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Proposal)) == 1


def test_a_hundred_thousand_proposals_page_in_the_same_queries(app, factory, count_queries):
    from sqlalchemy import text

    from participation.clock import utcnow
    from participation.search import terms

    community, people, consultation = setup(app, factory)
    lin = client_for(app, people["lin"])
    url = f"/c/{community.id}/proposals"
    for i in range(3):
        pid = proposal_id(propose(lin, community, consultation, title=f"带照片{i}",
                                  photos=[(BytesIO(image_bytes()), "a.png")]))
        post(client_for(app, people["wang"]), f"{url}/{pid}/support", page=f"{url}/{pid}")
    pages = [url, url + "?sort=supported", url + "?sort=random", url + "?site=空地"]

    def queries() -> list[int]:
        counts = []
        for page in pages:
            lin.get(page)
            with count_queries() as counter:
                assert lin.get(page).status_code == 200
            counts.append(counter.count)
        return counts

    few = queries()
    assert lin.get(url).get_data(as_text=True).count('class="card-photo"') == 3
    with app.app_context():
        db.session.execute(text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
            "INSERT INTO proposal (consultation_id, community_id, author_id, title, description, "
            "category, site, status, created_at, submitted_at, search_terms) "
            "SELECT :c, :community, :a, '提议' || i, '', 'other', '空地', 'evaluating', :t, :t, "
            ":terms || ' ' || i FROM n"),
            {"c": consultation.id, "community": community.id, "a": people["wang"].id,
             "t": utcnow(), "terms": terms("提议", "空地")})
        db.session.execute(text(
            "INSERT INTO support (proposal_id, user_id, created_at) "
            "SELECT id, :u, :t FROM proposal WHERE id % 7 = 0"),
            {"u": people["lin"].id, "t": utcnow()})
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Proposal)) == 100_003
    assert queries() == few
    pages[0] = url + "?page=1500"  # deep in the list: still one page query
    assert queries() == few
    # The last page is read from the other end: the three oldest, the first proposals of all.
    last = lin.get(url + "?site=空地&page=2001").get_data(as_text=True)
    assert re.findall(r">(带照片\d|提议\d+)</a></h2>", last) == ["带照片2", "带照片1", "带照片0"]
    assert ">提议1</a>" in lin.get(url + "?site=空地&page=2000").get_data(as_text=True)
    html = lin.get(url + "?page=1500").get_data(as_text=True)
    assert html.count('class="card"') == app.config["PAGE_SIZE"]
    assert "第 1500 页，共 2001 页" in html


def test_a_draft_with_a_photo_is_edited_and_submitted(app, factory):
    """Saving the form again of a proposal that has a photo keeps the photo (it was a 500)."""
    community, people, consultation = setup(app, factory)
    lin = client_for(app, people["lin"])
    pid = proposal_id(propose(lin, community, consultation, action="draft",
                              photos=[(BytesIO(image_bytes()), "a.png")]))
    edit = f"/c/{community.id}/proposals/{pid}/edit"
    form = {"title": "3号楼后加两张长椅", "description": "", "category": "cc12",
            "site": "3号楼后空地", "estimated_cost": "8000"}
    saved = post(lin, edit, {**form, "action": "draft"}, page=edit,
                 content_type="multipart/form-data")
    assert saved.status_code == 303
    submitted = post(lin, edit, {**form, "action": "submit", "photos": [(BytesIO(b""), "")]},
                     page=edit, content_type="multipart/form-data")
    assert submitted.status_code == 303
    with app.app_context():
        proposal = db.session.get(Proposal, pid)
        assert proposal.status == "evaluating" and proposal.title == "3号楼后加两张长椅"
        assert len(proposal.photos) == 1


def test_the_category_filter_offers_categories_only(app, factory):
    community, people, consultation = setup(app, factory)
    page = client_for(app, people["lin"]).get(f"/c/{community.id}/proposals").get_data(
        as_text=True)
    select = page[page.index('id="f-category"'):]
    select = select[:select.index("</select>")]
    assert "全部类别" in select and "请选择类别" not in select and 'value="cc12"' in select
