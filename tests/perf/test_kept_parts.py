"""Parts of signed-in pages drawn once and kept: the masthead (for each reader's name, role,
unread count, language and text size) and the community's navigation (for each set of
permissions). What each reader sees stays theirs: their token, their address, their name."""
from __future__ import annotations

import re

from participation.extensions import db
from participation.notifications.models import Notification
from participation.policy import Role
from tests.conftest import CSRF_RE, client_for, post


def _next_values(html: str) -> set[str]:
    return set(re.findall(r'name="next" value="([^"]*)"', html))


def test_the_masthead_is_each_readers_own(app, factory):
    community = factory.community()
    lin = factory.user(community, Role.VERIFIED, display_name="林阿婆")
    wang = factory.user(community, Role.VERIFIED, display_name="王师傅")
    lin_client, wang_client = client_for(app, lin), client_for(app, wang)
    url = f"/c/{community.id}/proposals?sort=supported"
    first = lin_client.get(url).get_data(as_text=True)
    again = lin_client.get(f"/c/{community.id}").get_data(as_text=True)
    # The same kept masthead, with this page's address for the preference forms.
    assert _next_values(first) == {url} and _next_values(again) == {f"/c/{community.id}"}
    assert "林阿婆" in again
    wang_page = wang_client.get(url).get_data(as_text=True)
    assert "王师傅" in wang_page and "林阿婆" not in wang_page
    # Each reader's forms carry their own token, and it works.
    assert CSRF_RE.search(wang_page).group(1) != CSRF_RE.search(first).group(1)
    assert post(wang_client, "/display", {"large_text": "on", "next": url},
                page=url).status_code in (302, 303)
    assert 'class="large-text"' in wang_client.get(url).get_data(as_text=True)


def test_the_masthead_shows_a_change_at_once(app, factory):
    community = factory.community()
    lin = factory.user(community, Role.VERIFIED, display_name="林阿婆")
    client = client_for(app, lin)
    url = f"/c/{community.id}"
    assert "林阿婆" in client.get(url).get_data(as_text=True)
    with app.app_context():
        user = db.session.get(type(lin), lin.id)
        user.display_name = "林奶奶"
        db.session.add(Notification(user_id=lin.id, kind="phase.started", params={},
                                     url="/"))
        db.session.commit()
    page = client.get(url).get_data(as_text=True)
    assert "林奶奶" in page and "林阿婆" not in page
    assert re.search(r'class="count">1</span>', page)


def _nav_links(html: str) -> set[str]:
    nav = re.search(r'<nav class="community-nav".*?</nav>', html, re.S).group(0)
    return set(re.findall(r'href="([^"]+)"', nav))


def test_the_kept_navigation_follows_where_the_application_is_mounted(app, factory):
    # The same reader, the same permissions, the same page: once at the root, once behind a
    # proxy that mounts the application under /linli. Each copy links where it is served.
    community = factory.community()
    lin = factory.user(community, Role.VERIFIED)
    client = client_for(app, lin)
    url = f"/c/{community.id}/proposals"
    at_root = _nav_links(client.get(url).get_data(as_text=True))
    mounted = _nav_links(client.get(url, base_url="http://localhost/linli/")
                         .get_data(as_text=True))
    assert f"/c/{community.id}/proposals" in at_root
    assert mounted == {f"/linli{link}" for link in at_root}
