"""Pages of the surveys area."""
from __future__ import annotations

from flask import Blueprint

from participation.communities.models import Community
from participation.extensions import db
from participation.policy import require
from participation.web import render

bp = Blueprint("surveys", __name__)


@bp.get("/c/<int:community_id>/surveys")
def index(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("surveys.view", community)
    return render("surveys/index.html", community=community)
