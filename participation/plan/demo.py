"""The demo community's checkup: a round under way, with gaps to turn into projects."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from participation.clock import utcnow
from participation.extensions import db

from .models import Checkup, CheckupEntry

# item, state, measured value, note
FINDINGS = [
    ("cc01", "insufficient", "650", "社区综合服务站在居委会二楼，共四间，约650平方米。"),
    ("cc02", "present", "2400", "金榜幼儿园，8个班。"),
    ("cc03", "missing", None, "社区内没有托育机构，最近的在两公里外。"),
    ("cc04", "insufficient", None, "老年服务站只有一间活动室，没有助餐。"),
    ("cc05", "present", "160", "社区卫生服务站在5号楼底层。"),
    ("cc07", "insufficient", "1", "只有一个快递柜，取件要排长队。"),
    ("cc10", "insufficient", "0.3", "老小区没有地下车库，夜间停车困难。"),
    ("cc12", "missing", None, "多栋楼入口没有坡道，轮椅进不去。"),
]


def seed(community, users: dict) -> None:
    if db.session.scalar(select(Checkup.id).where(Checkup.community_id == community.id)):
        return
    committee = users.get("13800000001")
    checkup = Checkup(community_id=community.id, started_at=utcnow() - timedelta(days=20),
                      started_by_id=committee.id if committee else None)
    db.session.add(checkup)
    db.session.flush()
    checked_on = (utcnow() - timedelta(days=18)).date()
    db.session.add_all(CheckupEntry(
        checkup_id=checkup.id, item_id=item, state=state,
        value=None if value is None else Decimal(value), note=note, checked_on=checked_on,
        checked_by_id=committee.id if committee else None)
        for item, state, value, note in FINDINGS)
