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
