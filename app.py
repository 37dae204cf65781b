"""The composition root: `create_app()` sets up the core's plumbing, then plugs in each module of
the core and each area, and adds the console commands. This is the one list of what the application is made of."""
from __future__ import annotations

from flask import Flask

import participation
import proposals
import proposals.ballots
import proposals.designs
import surveys
from participation import (
    accounts,
    children,
    cli,
    communities,
    consultations,
    discussions,
    meetings,
    notifications,
    plan,
)

# In dependency order: each module may use those before it.
CORE_MODULES = (accounts, communities, notifications, consultations, children, discussions,
                meetings, plan)
AREAS = (proposals, proposals.ballots, proposals.designs, surveys)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        static_folder="participation/static",
        template_folder="templates",
    )
    participation.init_core(app, config)
    cli.init_app(app)
    for module in (*CORE_MODULES, *AREAS):
        module.init_app(app)
    return app


app = create_app()
