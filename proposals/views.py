"""Pages of the proposals area."""
from __future__ import annotations

from flask import Blueprint

from participation.extensions import db
from participation.models import Community
from participation.policy import require
from participation.web import render

bp = Blueprint("proposals", __name__)


@bp.get("/c/<int:community_id>/proposals")
def index(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("proposals.view", community)
    return render("proposals/index.html", community=community)
