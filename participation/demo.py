"""The demo community: realistic content for a first look. Idempotent: run it as often as you like."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from .accounts.models import User
from .clock import utcnow
from .communities.models import Community, Household, Membership
from .consultations.models import Consultation, Phase
from .discussions.models import Comment, Topic
from .extensions import db
from .policy import Role
from .registries import demo_seeders
from .security import hash_password

DEMO_PASSWORD = "linli-demo-2026"

COMMUNITY = {
    "name": "筼筜街道金榜社区",
    "district": "厦门市思明区",
    "street": "筼筜街道",
    "committee_name": "金榜社区居民委员会",
    "household_count": 2860,
}

# building, units, floors, rooms per floor
BUILDINGS = [("1号楼", 2, 6, 2), ("2号楼", 2, 6, 2), ("3号楼", 1, 7, 2), ("5号楼", 2, 5, 3)]
NAMES = ["陈", "林", "黄", "王", "李", "张", "吴", "郑", "蔡", "许"]

USERS = [
    # role, login, display name, is_admin
    ("admin", "admin@linli.example", "思明区街道管理员", True),
    (Role.PLANNER, "planner@linli.example", "刘规划师", False),
    (Role.COMMITTEE, "13800000001", "陈主任（居委会）", False),
    (Role.COMMITTEE, "13800000002", "黄委员（居委会）", False),
    (Role.MODERATOR, "13800000003", "苏阿姨（楼栋长）", False),
    (Role.VERIFIED, "13900000001", "林阿婆", False),
    (Role.VERIFIED, "13900000002", "王师傅", False),
    (Role.VERIFIED, "13900000003", "小郑妈妈", False),
    (Role.RESIDENT, "13900000004", "新搬来的蔡先生", False),
]


def seed_demo() -> list[tuple[str, str, str]]:
    """Create the demo community, households and users if missing; return the logins."""
    community = db.session.scalar(select(Community).where(Community.name == COMMUNITY["name"]))
    if community is None:
        community = Community(**COMMUNITY)
        db.session.add(community)
        db.session.flush()
        n = 0
        for building, units, floors, per_floor in BUILDINGS:
            for unit in range(1, units + 1):
                for floor in range(1, floors + 1):
                    for room in range(1, per_floor + 1):
                        n += 1
                        db.session.add(Household(
                            community_id=community.id, building=building, unit=f"{unit}单元",
                            room=f"{floor}0{room}",
                            floor_area=Decimal(68 + (n * 7) % 60),
                            resident_names=f"{NAMES[n % len(NAMES)]}某某",
                        ))
        db.session.flush()
    households = db.session.scalars(
        select(Household).where(Household.community_id == community.id).order_by(Household.id)
    ).all()

    logins, users = [], {}
    for index, (role, login, name, admin) in enumerate(USERS):
        field = "email" if "@" in login else "phone"
        user = db.session.scalar(select(User).where(getattr(User, field) == login))
        if user is None:
            user = User(display_name=name, password_hash=hash_password(DEMO_PASSWORD),
                        is_admin=admin, current_community_id=community.id)
            setattr(user, field, login)
            db.session.add(user)
            db.session.flush()
            if not admin:
                membership = Membership(user_id=user.id, community_id=community.id,
                                        role=role.value)
                if role == Role.VERIFIED:
                    membership.household_id = households[index * 5].id
                    membership.verified_at = utcnow()
                db.session.add(membership)
        logins.append((role if admin else role.value, login, name))
        users[login] = user
    db.session.flush()
    seed_open_consultation(community, users)
    for seeder in demo_seeders:
        seeder(community, users)
    return logins


# A consultation collecting ideas right now, so a newcomer can comment and propose at once
# (the proposals area adds proposals to support).
OPEN_TITLE = "2号楼架空层怎么用"


def seed_open_consultation(community: Community, users: dict) -> None:
    if db.session.scalar(select(Consultation.id).where(
            Consultation.community_id == community.id, Consultation.title == OPEN_TITLE)):
        return
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    planner, lin, wang, zheng = (users[login] for login in (
        "planner@linli.example", "13900000001", "13900000002", "13900000003"))
    consultation = Consultation(
        community_id=community.id, template="micro_space", title=OPEN_TITLE,
        created_by_id=planner.id, sites="2号楼架空层",
        description="2号楼的架空层堆着旧家具和杂物。这三周请大家说说它可以怎么用，"
                    "也可以直接提出提议；之后一起商议，再投票决定。")
    days = [-5, 16, 30, 37, 51]
    consultation.phases = [
        Phase(kind=kind, starts_at=now + timedelta(days=start),
              ends_at=now + timedelta(days=end))
        for kind, start, end in zip(("collect", "deliberate", "vote", "results"), days,
                                    days[1:], strict=False)]
    db.session.add(consultation)
    db.session.flush()
    topic = Topic(consultation_id=consultation.id, author_id=lin.id,
                  title="架空层能不能给老人和孩子用？",
                  body="下雨天孩子们没处玩，老人也想有个地方坐坐、下下棋。",
                  created_at=now - timedelta(days=4))
    db.session.add(topic)
    db.session.flush()
    first = Comment(topic_id=topic.id, author_id=wang.id, stance="support",
                    body="同意。杂物先请物业清走，再刷一遍墙就很亮堂。",
                    created_at=now - timedelta(days=3))
    db.session.add(first)
    db.session.flush()
    db.session.add_all([
        Comment(topic_id=topic.id, parent_id=first.id, root_id=first.id, depth=1,
                author_id=zheng.id, stance="neutral",
                body="孩子玩的时候会不会吵到一楼的住户？最好定个开放时间。",
                created_at=now - timedelta(days=2)),
        Comment(topic_id=topic.id, author_id=planner.id, is_official=True, pinned=True,
                body="架空层属于全体业主共有。清理杂物和开放时间都可以写进提议，"
                     "商议阶段我们会请一楼的住户一起来谈。",
                created_at=now - timedelta(days=1)),
    ])
