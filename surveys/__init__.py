"""Surveys: the surveys area of Linli. `init_app` plugs it into the core."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from participation.policy import any_of, is_admin, is_member
from participation.registries import CommunityTab, add_community_tab, plug_in

RULES = {
    "surveys.view": any_of(is_member, is_admin),
}


def init_app(app: Flask) -> None:
    from .views import bp

    plug_in(app, bp, RULES)
    add_community_tab(CommunityTab("surveys.index", _l("Surveys"), "surveys.view"))
