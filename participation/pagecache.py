"""Public pages kept in the shared cache for visitors who are not signed in.

A page marked `public_page` is stored, as rendered for a visitor without an account, under its
address, language and text size; the next such visitor gets it without the view running or the
database being asked. The page's CSRF token (its language switch, say) is put back per visitor,
so their forms work as on a page rendered for them. Any transaction that writes, anywhere, starts
a new generation of keys, so a visitor never reads a page older than the last change this
process (or, with Redis, any process) has seen; entries also expire after PUBLIC_PAGE_SECONDS.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from flask import (
    Flask,
    current_app,
    g,
    get_flashed_messages,
    has_app_context,
    request,
    session,
)
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.exceptions import SecurityError

from .extensions import cache, htmx
from .i18n import select_locale, visitor_locale

TOKEN = "\x1alinli-csrf-token\x1a"  # stands for the visitor's token in a stored page
GENERATION = "public-pages/generation"
# Kept long, not forever: a cache that is full drops what expires first (and, in cachelib's
# SimpleCache, whatever has no expiry at all), and a lost generation would bring old pages back.
GENERATION_SECONDS = 90 * 24 * 3600
WROTE = "linli_wrote"
# Pages are kept only for the query arguments the public pages read: any other argument would
# let a visitor fill the cache with copies of one page.
CACHED_ARGUMENTS = {"page", "sort", "category", "status", "site"}
OPENED_SESSION = "linli.opened_session"


def public_page(view):
    """Mark a view whose page, for visitors not signed in, is the same for all of them."""
    view.linli_public_page = True
    return view


def not_shared() -> None:
    """Called by a public view whose page this time depends on the visitor (a shuffle
    seeded per visitor, say): it is neither served from nor stored in the cache."""
    g.linli_page_key = None
    g.linli_not_shared = True


def generation() -> int:
    """The generation of cached pages and counts this request reads and stores under: taken
    before its first query, so nothing it reads can be older than the generation (a write
    committed after that starts a new one)."""
    if "linli_generation" not in g:
        g.linli_generation = cache.get(GENERATION) or 0
    return g.linli_generation


def address(environ: dict) -> str:
    """The page's address as the server received it, query included: the same text for the
    middleware and for the view that stored the page."""
    return "{}{}?{}".format(environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
                            environ.get("QUERY_STRING", ""))


def page_key(generation_: int, locale: str, large_text: bool, fragment: bool,
             environ: dict) -> str:
    return f"public-pages/{generation_}/{locale}/{int(large_text)}/{int(fragment)}/" \
        + address(environ)


def _key() -> str | None:
    if (request.method != "GET" or "_user_id" in session or session.get("_flashes")
            or not current_app.config["PUBLIC_PAGE_SECONDS"]
            or not set(request.args) <= CACHED_ARGUMENTS):
        return None
    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "linli_public_page", False):
        return None
    return page_key(generation(), select_locale(), bool(session.get("large_text")),
                    bool(htmx), request.environ)


def _note_key() -> None:
    """Where a public page is not in the cache yet (the middleware serves it when it is), the
    key under which `keep` stores it once rendered."""
    generation()
    g.linli_page_key = _key()


class CachedPages:
    """WSGI middleware in front of the application: a visitor who is not signed in gets a
    public page kept in the cache without Flask's request handling running at all (no hooks,
    no database, the session only read from its cookie). What the full path adds to such a
    page is added here the same way: the visitor's own CSRF token (and a new session cookie
    holding its secret when they have none yet), the security headers, the ETag and 304, and
    gzip. Anything else (a signed-in user, a message to show, a page not kept, any method but
    GET) goes on to Flask unchanged."""

    def __init__(self, app: Flask, wsgi_app):
        from . import security, web

        self.app, self.wsgi_app = app, wsgi_app
        self.web, self.security = web, security

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and self.app.config["PUBLIC_PAGE_SECONDS"]:
            try:
                response = self._kept_page(environ)
            except Exception:  # noqa: BLE001  (a cache that is down only makes pages slower)
                self.app.logger.warning("could not read the kept pages", exc_info=True)
                environ.pop(OPENED_SESSION, None)
                response = None
            if response is not None:
                return response(environ, start_response)
        return self.wsgi_app(environ, start_response)

    def _kept_page(self, environ):
        app = self.app
        asked = app.request_class(environ)
        if app.config.get("TRUSTED_HOSTS") is not None:
            # A host the application would refuse is refused by it, not answered here.
            asked.trusted_hosts = app.config["TRUSTED_HOSTS"]
            try:
                asked.host  # noqa: B018  (reading it is the check)
            except SecurityError:
                return None
        visitor = app.session_interface.open_session(app, asked)
        if visitor is None:
            return None
        environ[OPENED_SESSION] = visitor  # not served here: the application takes it as read
        if "_user_id" in visitor or visitor.get("_flashes"):
            return None
        store = app.extensions["cache"][cache]
        key = page_key(store.get(GENERATION) or 0, visitor_locale(app.config, visitor, asked),
                       bool(visitor.get("large_text")),
                       environ.get("HTTP_HX_REQUEST") == "true", environ)
        page = store.get(key)
        if page is None:
            return None
        del environ[OPENED_SESSION]
        # The visitor's token as Flask-WTF makes it: a secret kept in their session, signed
        # with the time; a form sent back is checked by Flask-WTF as usual.
        field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        if TOKEN in page:
            if field not in visitor:
                visitor[field] = hashlib.sha1(os.urandom(64)).hexdigest()
            token = URLSafeTimedSerializer(
                app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key,
                salt="wtf-csrf-token").dumps(visitor[field])
            body = page.replace(TOKEN, token)
        else:
            body = page
        response = app.response_class(body, mimetype="text/html")
        if app.config.get("COUNT_QUERIES"):
            response.headers["X-Queries"] = "0"
        self.security.set_security_headers(response)
        digest = self.web.page_digest(page.encode(), TOKEN, str(visitor.get(field, "")))
        self.web.compress(response, environ.get("HTTP_ACCEPT_ENCODING", ""))
        # Private when the browser keeps a session, or is given one with this very answer.
        response = self.web.tag(response, digest, bool(asked.cookies) or visitor.modified,
                                environ)
        visitor.accessed = True  # it was read: the answer varies with the cookie, as Flask's
        app.session_interface.save_session(app, visitor, response)
        return response


class SessionOpenedOnce(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, read once per request: where the middleware has read
    the cookie already (and not served the page), the application takes that session."""

    def open_session(self, app, request):
        opened = request.environ.pop(OPENED_SESSION, None)
        return opened if opened is not None else super().open_session(app, request)


def shared_part(name: str, render: Callable[[], str], by: str | None = None) -> Markup:
    """A part of a page that reads the same for everyone at this address, in this language
    (a list's cards, say, around which each reader's own page is drawn): rendered once per
    generation and kept in the shared cache, so that signed-in readers too skip its queries
    and its rendering. `render` runs only when the part is not kept. A part that depends on
    something else than the address says what in `by`, which then stands for the address
    (a navigation drawn for one set of permissions, say)."""
    seconds = current_app.config["PUBLIC_PAGE_SECONDS"]
    if by is None:
        if g.get("linli_not_shared") or not set(request.args) <= CACHED_ARGUMENTS:
            seconds = 0
        by = request.full_path
    if not seconds:
        return Markup(render())
    key = f"parts/{generation()}/{name}/{select_locale()}/{by}"
    html = cache.get(key)
    if html is None:
        html = render()
        cache.set(key, html, timeout=seconds)
    return Markup(html)


def keep(html: str, status: int) -> None:
    """Store a page just rendered, if it is a public page for a visitor (see `render`)."""
    key = g.get("linli_page_key")
    # A message shown once (flashed by this very request) is this visitor's alone.
    if not key or status != 200 or get_flashed_messages():
        return
    token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    cache.set(key, html.replace(token, TOKEN) if token else html,
              timeout=current_app.config["PUBLIC_PAGE_SECONDS"])


@event.listens_for(Session, "after_flush")
def _flushed(session, _context) -> None:
    session.info[WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state) -> None:
    if not state.is_select:  # INSERT, UPDATE, DELETE, or SQL text that may be any of them
        state.session.info[WROTE] = True


@event.listens_for(Session, "after_commit")
def _committed(session) -> None:
    if session.info.pop(WROTE, False) and has_app_context():
        _new_generation()


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # not a savepoint: the writes before it stay
        session.info.pop(WROTE, None)


def _new_generation() -> None:
    try:
        cache.set(GENERATION, (cache.get(GENERATION) or 0) + 1, timeout=GENERATION_SECONDS)
    except Exception:  # noqa: BLE001  (a cache that is down only makes pages slower)
        current_app.logger.warning("could not start a new generation of cached pages")


def init_app(app: Flask) -> None:
    app.session_interface = SessionOpenedOnce()
    app.before_request(_note_key)
    app.wsgi_app = CachedPages(app, app.wsgi_app)
