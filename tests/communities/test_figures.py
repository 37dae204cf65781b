"""A community's home shows its figures from the cache, and they follow every change."""
from __future__ import annotations

import re

from participation.communities.models import Membership
from participation.extensions import db
from participation.policy import Role
from tests.conftest import login


def figure(html: str, label: str) -> int:
    match = re.search(rf"<dt>{label}</dt><dd>([0-9,]+)", html)
    assert match, label
    return int(match.group(1).replace(",", ""))


def test_figures_are_read_once_and_follow_changes(app, client, factory, count_queries):
    community = factory.community()
    login(client, factory.user(community, Role.VERIFIED))
    url = f"/c/{community.id}"
    first = client.get(url).get_data(as_text=True)
    assert figure(first, "已认证居民") == 1
    assert figure(first, "尚未认证的居民") == 0
    with count_queries() as cached:
        client.get(url)
    # A new resident and a household: the page shows them at once.
    factory.user(community, Role.RESIDENT)
    factory.household(community)
    with count_queries() as fresh:
        html = client.get(url).get_data(as_text=True)
    assert figure(html, "尚未认证的居民") == 1
    assert figure(html, "名册中的住户") == 1
    assert fresh.count == cached.count + 2  # the two counts, then cached again
    with count_queries() as again:
        client.get(url)
    assert again.count == cached.count


def test_revoked_member_leaves_the_figures(app, client, factory):
    community = factory.community()
    resident = factory.user(community, Role.RESIDENT)
    login(client, factory.user(community, Role.VERIFIED))
    url = f"/c/{community.id}"
    assert figure(client.get(url).get_data(as_text=True), "尚未认证的居民") == 1
    with app.app_context():
        m = db.session.scalar(db.select(Membership).filter_by(user_id=resident.id))
        m.revoked_at = m.created_at
        db.session.commit()
    assert figure(client.get(url).get_data(as_text=True), "尚未认证的居民") == 0
