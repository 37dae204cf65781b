"""The inventory of sites: the committee uploads the community's site plan (re-encoded like
every upload) and records sites with their pins, typed or clicked; anyone reads them."""
from __future__ import annotations

import re
from io import BytesIO

from PIL import Image
from sqlalchemy import select

from participation.extensions import db
from participation.plan.models import Site, SitePlan
from participation.policy import Role
from tests.conftest import client_for, post


def png(width: int, height: int) -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), "green").save(out, "PNG")
    return out.getvalue()


def add_site(client, community, **form):
    url = f"/c/{community.id}/sites/new"
    data = {"kind": "micro_space", "name": "3号楼后空地", "area_m2": "320", "owner": "物业公司",
            "state": "闲置", "notes": "", "x": "", "y": "", **form}
    return post(client, url, data, page=url, content_type="multipart/form-data")


def test_sites_are_pinned_on_the_site_plan(app, factory):
    community = factory.community()
    committee = client_for(app, factory.user(community, Role.COMMITTEE))
    url = f"/c/{community.id}/sites"
    uploaded = post(committee, f"{url}/plan", {"image": (BytesIO(png(1000, 500)), "plan.png")},
                    page=url, content_type="multipart/form-data")
    assert uploaded.status_code == 303
    with app.app_context():
        plan = db.session.get(SitePlan, community.id)
        assert (plan.width, plan.height) == (1000, 500)
    image = app.test_client().get(f"{url}/plan/image")
    assert Image.open(BytesIO(image.data)).format == "JPEG"  # re-encoded
    image.close()
    saved = add_site(committee, community, x="25", y="40")
    assert saved.status_code == 303
    site_url = saved.headers["Location"]
    page = app.test_client().get(url).get_data(as_text=True)  # anyone reads the inventory
    assert "3号楼后空地" in page and "微空间" in page
    # The pin stands a quarter across and 40% down the 1000 x 500 plan.
    assert re.search(r'<circle cx="250\.0" cy="200\.0"', page)
    site = app.test_client().get(site_url).get_data(as_text=True)
    assert "物业公司" in site and "320" in site and "闲置" in site


def test_coordinates_are_checked_and_what_was_typed_is_kept(app, factory):
    community = factory.community()
    committee = client_for(app, factory.user(community, Role.COMMITTEE))
    too_far = add_site(committee, community, x="150", y="20", name="东门小广场")
    html = too_far.get_data(as_text=True)
    assert too_far.status_code == 422 and "0 到 100" in html and "东门小广场" in html
    half = add_site(committee, community, x="30", y="")
    assert half.status_code == 422 and "两个坐标" in half.get_data(as_text=True)
    unpinned = add_site(committee, community)
    assert unpinned.status_code == 303
    assert "尚未标注" in committee.get(f"/c/{community.id}/sites").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Site.x)) is None
    resident = client_for(app, factory.user(community, Role.VERIFIED))
    assert add_site(resident, community).status_code == 403
    assert post(resident, f"/c/{community.id}/sites/plan", page=f"/c/{community.id}/sites"
                ).status_code == 403


def test_a_site_lists_the_proposals_about_it(app, factory):
    from tests.proposals.test_proposals import propose

    community = factory.community()
    committee = client_for(app, factory.user(community, Role.COMMITTEE))
    site_url = add_site(committee, community).headers["Location"]
    site_id = int(site_url.rsplit("/", 1)[1])
    other = factory.community()
    elsewhere = client_for(app, factory.user(other, Role.COMMITTEE))
    foreign = int(add_site(elsewhere, other).headers["Location"].rsplit("/", 1)[1])
    lin = client_for(app, factory.user(community, Role.VERIFIED))
    consultation = factory.consultation(community)
    form = lin.get(f"/c/{community.id}/consultations/{consultation.id}/proposals/new")
    assert "3号楼后空地" in form.get_data(as_text=True)  # the inventory to choose from
    made = propose(lin, community, consultation, title="空地改口袋公园", site_id=str(site_id))
    assert made.status_code == 303
    proposal = lin.get(made.headers["Location"]).get_data(as_text=True)
    assert f'href="{site_url}"' in proposal  # the proposal points at its site
    assert "空地改口袋公园" in app.test_client().get(site_url).get_data(as_text=True)
    # A site of another community cannot be chosen.
    refused = propose(lin, community, consultation, title="别处", site_id=str(foreign))
    assert refused.status_code == 422
