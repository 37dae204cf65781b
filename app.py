"""The composition root: `create_app()` sets up the core and registers each area."""
from __future__ import annotations

from flask import Flask

import participation
import proposals
import surveys


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        static_folder="participation/static",
        template_folder="templates",
    )
    participation.init_core(app, config)
    proposals.init_app(app)
    surveys.init_app(app)
    return app


app = create_app()
