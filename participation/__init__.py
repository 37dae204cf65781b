"""The core of Linli: the shared plumbing (configuration, extensions, database, i18n, security,
the policy, the registries, error pages) at this package's top, one sub-package per concern below.

`init_core(app)` is called first by `create_app`; then each module of the core and each area
plugs itself in with `registries.plug_in`.
"""
from __future__ import annotations

import logging
from pathlib import Path

import flask_babel
from flask import Flask, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    pagecache,
    policy,
    security,
    web,
)
from .config import load_config
from .database import QueuedWriter  # importing it registers the SQLite connection settings
from .extensions import babel, cache, csrf, db, htmx, limiter, login_manager, migrate
from .i18n import TRANSLATIONS, compile_catalogs, format_moment, request_locale, select_locale
from .registries import community_tabs
from .sanitize import render_markdown
from .web import external_url

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent

ERROR_MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("You do not have permission to do this here.")),
    404: (_l("Page not found"), _l("This page does not exist or has been moved.")),
    405: (_l("Not allowed"), _l("This page cannot be used this way.")),
    413: (_l("Too large"), None),  # the message names the configured limit, see _error_page
    429: (_l("Too many attempts"), _l("There were too many attempts. Wait a few minutes and "
                                      "try again.")),
    500: (_l("Something went wrong"), _l("An error occurred on our side. It has been recorded; "
                                         "please try again later.")),
}


def init_core(app: Flask, overrides: dict | None = None) -> None:
    load_config(app, overrides)
    compile_catalogs()

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Writers take turns through a lock file, handed on at once (see QueuedWriter).
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"factory": QueuedWriter, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    babel.init_app(app, locale_selector=request_locale)
    login_manager.init_app(app)
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    security.init_app(app)
    web.init_app(app)
    pagecache.init_app(app)
    if app.config["PROXY_COUNT"]:
        # Behind nginx and the like: take the client's address and scheme from the proxies' headers,
        # so rate limits count per resident, not per proxy.
        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)
    # Locale-aware formatting in templates, under the names the templates read best with.
    app.jinja_env.filters.update(
        format_date=flask_babel.format_date,
        format_datetime=format_moment,
        format_number=flask_babel.format_number,
        format_decimal=flask_babel.format_decimal,
        format_percent=flask_babel.format_percent,
        markdown=render_markdown,
    )

    app.add_url_rule("/favicon.ico", "favicon",
                     lambda: redirect(url_for("static", filename="favicon.svg"), code=301))
    _init_request_handling(app)


def _init_request_handling(app: Flask) -> None:
    @app.after_request
    def commit(response):
        # One transaction per request: committed when the answer is a success, else rolled back.
        from .mail import drop_queued_mail, send_queued_mail

        if response.status_code < 400:
            if db.session().in_transaction():  # a page served from the cache asked nothing
                db.session.commit()
            send_queued_mail()
        else:
            db.session.rollback()
            drop_queued_mail()
        return response

    @app.context_processor
    def _layout_context():
        user = current_user._get_current_object()  # resolved once, not at every attribute
        if user.is_authenticated:
            large = user.large_text
            communities = [m.community for m in user.memberships if m.active]
        else:
            large = bool(session.get("large_text"))
            communities = []
        locale = select_locale()
        return {
            "large_text": large,
            "my_communities": communities,
            "languages": app.config["LANGUAGES"],
            "locale_code": locale,
            "html_lang": locale.replace("_", "-"),
            "community_tabs": community_tabs,
            "can": policy.can,
            "external_url": external_url,
        }

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        db.session.rollback()
        return _error_page(400, message=_l("This form has expired or was not sent from this "
                                           "site. Nothing was changed; go back, reload the page "
                                           "and try again."))

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        db.session.rollback()
        if isinstance(error, SecurityError):
            # An untrusted Host header: no URL can be built for it, so no layout either.
            title, message = ERROR_MESSAGES[400]
            return render_template("errors/bare.html", title=title, message=message), 400
        if error.code in (301, 302, 303, 307, 308) or error.response is not None:
            return error.get_response() if error.response is None else error.response
        return _error_page(error.code or 500,
                           message=error.description if isinstance(error, policy.Refused)
                           else None)

    @app.errorhandler(Exception)
    def _server_error(error: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error_page(500)


def _error_page(code: int, message=None):
    title, default = ERROR_MESSAGES.get(code, ERROR_MESSAGES[400 if code < 500 else 500])
    if code == 413:
        from flask import current_app

        default = _l("What you sent is larger than allowed (at most %(mb)d MB). "
                     "Send a smaller file.",
                     mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024))
    context = {"code": code, "title": title, "message": message or default}
    if htmx:
        # htmx swaps the message into the page's main area instead of the form that was posted.
        return render_template("errors/_error.html", **context), code, {
            "HX-Retarget": "#main", "HX-Reswap": "innerHTML"}
    return render_template("errors/error.html", **context), code
