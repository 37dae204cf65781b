"""The first look: the home page in Chinese, the demo community, the landing pages of each area."""
from participation.policy import Role
from tests.conftest import login


def test_home_page_is_chinese_by_default(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="zh-CN"' in html
    assert "邻里" in html


def test_area_landing_pages_for_a_member(client, factory):
    community = factory.community()
    user = factory.user(community, Role.VERIFIED)
    login(client, user)
    for path in (f"/c/{community.id}/proposals", f"/c/{community.id}/surveys"):
        response = client.get(path)
        assert response.status_code == 200, path


def test_htmx_loads_only_on_pages_that_use_it(client, factory):
    """A page without hx-* controls spares the phone htmx's 50 KB; a page with them gets it, from
    this server."""
    community = factory.community()
    user = factory.user(community, Role.VERIFIED)
    topic = factory.topic(factory.consultation(community), user)
    plain = ["/", "/login", "/register", f"/c/{community.id}/proposals", "/account"]
    with_htmx = ["/redeem", f"/c/{community.id}/topics/{topic.id}"]
    script = '<script src="/static/vendor/htmx/htmx.min.js" defer></script>'
    for path in plain[:3]:
        html = client.get(path).get_data(as_text=True)
        assert "hx-post" not in html and script not in html, path
    login(client, user)
    for path in plain[3:]:
        html = client.get(path).get_data(as_text=True)
        assert "hx-post" not in html and script not in html, path
    for path in with_htmx:
        html = client.get(path).get_data(as_text=True)
        assert "hx-post" in html and html.count(script) == 1, path
