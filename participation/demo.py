"""The demo community: realistic content for a first look. Idempotent: run it as often as you like."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from .accounts.models import User
from .clock import utcnow
from .communities.models import Community, Household, Membership
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
    for seeder in demo_seeders:
        seeder(community, users)
    return logins
