"""The designs' part of the demo community: a children's design call whose children's vote
runs now, with approved drawings from guardians and from a workshop, and stickers placed.
Nicknames are made up; the drawings are drawn here."""
from __future__ import annotations

import random
from datetime import timedelta
from io import BytesIO

from PIL import Image, ImageDraw
from sqlalchemy import select

from participation.children.models import ChildProfile, GuardianConsent, PaperConsent
from participation.clock import utcnow
from participation.consultations.models import Consultation, Phase
from participation.extensions import db
from participation.plan.models import Site
from participation.uploads import save_image

from .models import Design, DesignCall, Sticker, Workshop, WorkshopTally

TITLE = "小小设计师：我们的口袋乐园"
# guardian's login -> (nickname, age band, [(design title, what I want here)])
FAMILIES = {
    "13900000003": [("跳跳", "6-8", [("彩虹滑梯", "想要一个会变颜色的滑梯")]),
                    ("小树苗", "9-11", [("树屋图书角", "在大树上看书，下雨也不怕")])],
    "13900000002": [("豆豆", "9-11", [("沙坑和小水渠", "可以挖沙子，还可以玩水")])],
    "13900000001": [("圆圆", "12-14", [("安静的秋千", "奶奶坐着，我荡秋千")])],
}
WORKSHOP = [("小星", "6-8", "花朵跷跷板", ""), ("阿哲", "12-14", "攀爬网", "想爬得高高的"),
            ("糖糖", "9-11", "小动物座椅", "")]


def drawing(seed: int) -> BytesIO:
    """A child's drawing, made up: sky, grass, sun and a few playthings in crayon colours."""
    rng = random.Random(seed)
    image = Image.new("RGB", (800, 600), rng.choice(["#dff3ff", "#fff6d8", "#f1e8ff"]))
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, 430, 800, 600), fill=rng.choice(["#8fd46b", "#a7e08a"]))
    pen.ellipse((630, 40, 740, 150), fill="#ffcc33", outline="#ff9900", width=6)
    for _ in range(4):
        x, y = rng.randrange(40, 620), rng.randrange(220, 420)
        colour = rng.choice(["#ff5a5f", "#3d9df3", "#ffa62b", "#9b5de5", "#00b894"])
        shape = rng.choice(["slide", "tree", "swing"])
        if shape == "slide":
            pen.line((x, y + 150, x + 120, y), fill=colour, width=14)
            pen.line((x + 120, y, x + 120, y + 150), fill="#555555", width=8)
        elif shape == "tree":
            pen.rectangle((x + 40, y + 60, x + 60, y + 160), fill="#8b5a2b")
            pen.ellipse((x, y - 20, x + 100, y + 80), fill="#2e8b57")
        else:
            pen.line((x, y, x + 140, y), fill="#555555", width=8)
            pen.line((x + 40, y, x + 40, y + 110), fill=colour, width=4)
            pen.line((x + 100, y, x + 100, y + 110), fill=colour, width=4)
            pen.rectangle((x + 30, y + 110, x + 110, y + 122), fill=colour)
    out = BytesIO()
    image.save(out, "PNG")
    out.seek(0)
    return out


def _design(call, child, title, want, seed, workshop_id=None) -> Design:
    full, thumb = save_image(drawing(seed), "designs", thumbnail=True)
    design = Design(call_id=call.id, child_id=child.id, workshop_id=workshop_id, title=title,
                    want=want, filename=full, thumbnail=thumb, status="approved",
                    reviewed_at=utcnow())
    db.session.add(design)
    return design


def seed(community, users: dict) -> None:
    if db.session.scalar(select(Consultation.id).where(
            Consultation.community_id == community.id, Consultation.title == TITLE)):
        return
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    consultation = Consultation(
        community_id=community.id, template="children_design", title=TITLE,
        description="请孩子们画一画：3号楼后空地变成口袋乐园，你最想在这里玩什么？",
        created_by_id=users["planner@linli.example"].id)
    consultation.phases = [
        Phase(kind="design", starts_at=now - timedelta(days=21), ends_at=now - timedelta(days=2)),
        Phase(kind="children_vote", starts_at=now - timedelta(days=2),
              ends_at=now + timedelta(days=5)),
        Phase(kind="exhibition", starts_at=now + timedelta(days=5),
              ends_at=now + timedelta(days=35)),
    ]
    db.session.add(consultation)
    db.session.flush()
    site = db.session.scalar(select(Site).where(Site.community_id == community.id)
                             .order_by(Site.id).limit(1))
    call = DesignCall(consultation_id=consultation.id, community_id=community.id,
                      site_id=site.id if site else None, title="我们的口袋乐园",
                      prompt="你最想在这块空地上玩什么？把它画出来吧！画好后请爸爸妈妈拍照上传。",
                      age_bands="6-8,9-11,12-14",
                      created_by_id=users["planner@linli.example"].id)
    db.session.add(call)
    db.session.flush()
    seed_no, designs, kids = 0, [], []
    for login, family in FAMILIES.items():
        guardian = users[login]
        consent = GuardianConsent(user_id=guardian.id, community_id=community.id,
                                  notice_version=1, agreed=True, at=now - timedelta(days=15))
        db.session.add(consent)
        db.session.flush()
        for nickname, band, entries in family:
            child = ChildProfile(community_id=community.id, guardian_id=guardian.id,
                                 consent_id=consent.id, nickname=nickname, age_band=band)
            db.session.add(child)
            db.session.flush()
            kids.append(child)
            for title, want in entries:
                seed_no += 1
                designs.append(_design(call, child, title, want, seed_no))
    paper = PaperConsent(community_id=community.id,
                         recorded_by_id=users["planner@linli.example"].id,
                         collected_by="苏阿姨（楼栋长）", collected_on=(now - timedelta(days=8)).date(),
                         count=12)
    db.session.add(paper)
    db.session.flush()
    workshop = Workshop(call_id=call.id, paper_consent_id=paper.id, place="社区活动室",
                        held_on=(now - timedelta(days=8)).date())
    db.session.add(workshop)
    db.session.flush()
    for nickname, band, title, want in WORKSHOP:
        child = ChildProfile(community_id=community.id, paper_consent_id=paper.id,
                             nickname=nickname, age_band=band)
        db.session.add(child)
        db.session.flush()
        seed_no += 1
        designs.append(_design(call, child, title, want, seed_no, workshop.id))
    db.session.flush()
    # Stickers placed online, and the workshop's paper tally.
    for i, child in enumerate(kids):
        for slot in (1, 2):
            db.session.add(Sticker(call_id=call.id, child_id=child.id, slot=slot,
                                   design_id=designs[(i + slot) % len(designs)].id))
    for design, band, n in [(designs[0], "6-8", 7), (designs[1], "9-11", 5),
                            (designs[5], "12-14", 4), (designs[4], "6-8", 3)]:
        db.session.add(WorkshopTally(workshop_id=workshop.id, design_id=design.id,
                                     age_band=band, stickers=n))
    db.session.flush()
