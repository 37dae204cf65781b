"""The plan (一社区一方案): the community's checkup (体检) against the complete-community
checklist, item by item from the deployment's data file, with its history. The inventory of
sites and the project list build on it."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from participation import audit
from participation.extensions import db
from participation.policy import any_of, anyone, is_admin, is_committee, is_planner
from participation.registries import (
    CommunityTab,
    add_community_tab,
    add_demo_seeder,
    plug_in,
)
from participation.uploads import add_references

RULES = {
    # A community's checkup is public, like its plan; the committee and the planner carry it out.
    "checkup.view": anyone,
    "checkup.edit": any_of(is_planner, is_committee, is_admin),
    "sites.view": anyone,
    "sites.manage": any_of(is_planner, is_committee, is_admin),
}


def _photo_files() -> set[str]:
    from .models import CheckupEntry

    return set(db.session.scalars(select(CheckupEntry.photo)
                                  .where(CheckupEntry.photo.is_not(None))))


def _site_files() -> set[str]:
    from .models import SitePhoto, SitePlan

    return set(db.session.scalars(select(SitePhoto.filename))) | set(
        db.session.scalars(select(SitePlan.image)))


def init_app(app: Flask) -> None:
    from . import demo
    from .views import bp

    plug_in(app, bp, RULES)
    add_demo_seeder(demo.seed)
    add_references("checkup", _photo_files)
    add_references("sites", _site_files)
    add_community_tab(CommunityTab("plan.checkup", _l("Checkup"), "checkup.view"))
    add_community_tab(CommunityTab("plan.sites", _l("Sites"), "sites.view"))
    audit.describe({
        "checkup.start": _l("Started a new checkup of the community"),
        "checkup.finding": _l("Recorded a checkup finding"),
    }, details={"item": _l("Checklist item"), "state": _l("Finding"),
                "value": _l("Measured value")},
        values={"state": {"present": _l("present"), "insufficient": _l("insufficient"),
                          "missing": _l("missing")}})
    audit.describe({
        "site.save": _l("Saved a site of the inventory"),
        "site_plan.save": _l("Uploaded the community's site plan"),
    }, details={"name": _l("Name")})
