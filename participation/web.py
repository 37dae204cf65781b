"""Request/response helpers shared by every area: htmx-aware redirects and fragments, paging."""
from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_htmx.responses import HTMXResponseClientRedirect
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from . import pagecache, policy
from .database import commit_writes
from .extensions import cache, db, htmx
from .registries import community_tabs
from .security import add_vary

ID = re.compile(r"[0-9]{1,9}")
MAX_PAGE = 1_000_000


def parse_id(raw: str | None) -> int | None:
    """A database id from a form field, or None: ASCII digits only, small enough for any column
    ("²".isdigit() is true, and 23 digits overflow an integer)."""
    return int(raw) if raw and ID.fullmatch(raw) else None


def parse_ids(values) -> list[int]:
    return [i for i in (parse_id(v) for v in values) if i is not None]


def page_number() -> int:
    return min(max(1, request.args.get("page", 1, type=int)), MAX_PAGE)


def see_other(url: str):
    """After a successful POST: 303 for plain browsers, HX-Redirect for htmx."""
    if htmx:
        return HTMXResponseClientRedirect(url)
    return redirect(url, code=303)


def render(template: str, fragment: str | None = None, status: int = 200, **context):
    """Render the full page, or only its fragment (the same include) for an htmx request."""
    name = fragment if (fragment and htmx and not htmx.boosted) else template
    if status < 400:
        commit_writes()
    html = render_template(name, **context)
    pagecache.keep(html, status)
    return html, status


def form_status(form) -> int:
    """422 for a form sent back with its errors, so a refusal is a refusal to the browser, to
    htmx and to tools, while the page shows the form with what was typed."""
    return 422 if request.method == "POST" and form.errors else 200


def external_url(endpoint: str, **values) -> str:
    """An absolute link for mail and print. Built from BASE_URL when set, never from the
    request's Host header, which anyone can forge to point reset links at their own site."""
    base = current_app.config.get("BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def public_address_is_local() -> bool:
    """True while absolute links would name an address only this computer can open: no
    LINLI_BASE_URL is set and the page was opened as localhost, or it is set to one."""
    host = urlsplit(current_app.config.get("BASE_URL") or request.host_url).hostname or ""
    return host in ("localhost", "::1") or host.endswith(".localhost") or host.startswith("127.")


def safe_next(target: str | None, default: str) -> str:
    """Only same-site, path-only targets are followed after login."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def paginate(stmt, per_page: int | None = None):
    return db.paginate(
        stmt,
        page=page_number(),
        per_page=per_page or current_app.config["PAGE_SIZE"],
        max_per_page=200,
        error_out=False,
    )


@dataclass
class RowPage:
    """A page of result rows (several columns each), shaped like Flask-SQLAlchemy's Pagination
    for the `pager` macro."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def paginate_rows(stmt, per_page: int | None = None) -> RowPage:
    """One count query and one page query, whatever the number of rows."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    page = page_number()
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return RowPage(rows, page, per_page, total)


def _count(keys) -> int:
    """How many rows `keys` selects; kept in the shared cache until the next write (or for
    PUBLIC_PAGE_SECONDS at most): counting a hundred thousand index entries on every page is
    most of a long list's cost."""
    counting = select(func.count()).select_from(keys.order_by(None).subquery())
    seconds = current_app.config["PUBLIC_PAGE_SECONDS"]
    if not seconds:
        return db.session.scalar(counting)
    compiled = counting.compile(dialect=db.engine.dialect)
    digest = hashlib.sha1(f"{compiled}{sorted(compiled.params.items())}".encode()).hexdigest()
    key = f"counts/{pagecache.generation()}/{digest}"
    total = cache.get(key)
    if total is None:
        total = db.session.scalar(counting)
        cache.set(key, total, timeout=seconds)
    return total


def paginate_keys(keys, order: list[tuple], load, per_page: int | None = None) -> RowPage:
    """A page of rows that costs the same wherever it lies in the list.

    `keys` selects the rows' key alone (narrow: read from an index), `order` is the list's order
    as (column, descending) pairs ending in a unique column, and `load(keys)` gives the full rows
    of a page's keys, by key. A page in the second half is read from the other end in the
    reversed order, so the last page skips no more index entries than the first.
    """
    per_page = per_page or current_app.config["PAGE_SIZE"]
    page = page_number()
    total = _count(keys)
    skip = (page - 1) * per_page
    if skip >= total:
        return RowPage([], page, per_page, total)
    backwards = skip + per_page / 2 > total / 2
    if backwards:
        count, skip = min(per_page, total - skip), max(0, total - skip - per_page)
    else:
        count = per_page
    ordered = [column.desc() if descending != backwards else column.asc()
               for column, descending in order]
    ids = list(db.session.scalars(keys.order_by(*ordered).limit(count).offset(skip)))
    if backwards:
        ids.reverse()
    rows = load(ids) if ids else {}
    return RowPage([rows[i] for i in ids if i in rows], page, per_page, total)


def field_error(form_field, error) -> None:
    """Show a refused operation's message at the form field it concerns, keeping what was typed;
    the refused change is rolled back."""
    db.session.rollback()
    form_field.errors = [*form_field.errors, str(error)]


class IdConverter(IntegerConverter):
    """`<int:...>` in every URL: an id the database's integer columns can hold (PostgreSQL's
    INTEGER), so a longer number is simply not found instead of overflowing the query."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


# C0 control characters but tab, line feed and carriage return (and DEL): invisible, never
# meant, and refused by PostgreSQL in text (NUL).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _without_control_characters() -> None:
    """Take control characters out of what every request sends, once, for every form and
    query alike; a path holding one names no page."""
    if CONTROL_CHARACTERS.search(request.path):
        abort(404)
    for name in ("args", "form"):
        values = getattr(request, name)
        if any(CONTROL_CHARACTERS.search(k) or CONTROL_CHARACTERS.search(v)
               for k, v in values.items(multi=True)):
            # Both are cached properties of the request: the cleaned copy is what everyone reads.
            request.__dict__[name] = ImmutableMultiDict(
                (CONTROL_CHARACTERS.sub("", k), CONTROL_CHARACTERS.sub("", v))
                for k, v in values.items(multi=True))


COMPRESSED_TYPES = {"text/html", "text/css", "text/csv", "application/javascript",
                    "application/json", "image/svg+xml", "text/plain"}


def _compressed(response):
    return compress(response, request.headers.get("Accept-Encoding", ""))


def compress(response, accept_encoding: str):
    """Pages go out gzipped to browsers that take it (a page of 50 KiB goes in about 8):
    phones on a slow line load faster. Streamed files and small answers go as they are."""
    add_vary(response, "Accept-Encoding")
    if ("gzip" not in accept_encoding or response.direct_passthrough or response.is_streamed
            or response.status_code < 200 or response.status_code in (204, 304)
            or "Content-Encoding" in response.headers
            or response.mimetype not in COMPRESSED_TYPES):
        return response
    data = response.get_data()
    if len(data) >= 1024:
        # mtime=0: the same page compresses to the same bytes, so its ETag stays the same.
        response.set_data(gzip.compress(data, compresslevel=6, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
    return response


def _taggable(response) -> bool:
    return (request.method in ("GET", "HEAD") and response.status_code == 200
            and not response.direct_passthrough and not response.is_streamed
            and response.mimetype in COMPRESSED_TYPES
            and "no-store" not in (response.headers.get("Cache-Control") or ""))


# What a browser sends to ask for a page only if it changed (or for a part of it).
CONDITIONS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH",
              "HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE")


def page_digest(page: bytes, token: str | None, secret: str) -> str:
    """What a page's ETag is made of: its text without the CSRF token, which is signed anew
    with the time on every request (so the same page would otherwise never compare equal a
    second later); the token of the copy the browser keeps stays good for its session. The
    session's token secret does count: after a logout the kept copy's token is no good, and
    the page must be sent again."""
    if token:
        page = page.replace(token.encode(), b"")
    return hashlib.sha1(page + b"\0" + secret.encode()).hexdigest()


def _digest(response):
    if _taggable(response):
        field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        g.linli_digest = page_digest(response.get_data(), g.get(field),
                                     str(session.get(field, "")))
    return response


def _conditional(response):
    if not _taggable(response) or "linli_digest" not in g:
        return response
    # Private when the browser keeps a session, or is given one with this very answer.
    return tag(response, g.linli_digest, bool(request.cookies) or session.modified, request)


def tag(response, digest: str, has_cookies: bool, asked):
    """A page fetched again unchanged answers 304 Not Modified with no body: its ETag is the
    digest of the page (see page_digest) and its encoding, so each encoding has its own. Pages
    are revalidated every time (no-cache), never shown stale; a page for a browser that keeps
    a session stays private to it. `asked` is the request, or its WSGI environ."""
    if "Cache-Control" not in response.headers:  # most pages: written at once
        response.headers["Cache-Control"] = "no-cache, private" if has_cookies else "no-cache"
    else:
        if not response.cache_control.max_age:
            response.cache_control.no_cache = True
        if has_cookies:
            response.cache_control.private = True
    response.set_etag(f"{digest}-{response.headers.get('Content-Encoding', 'id')}")
    environ = getattr(asked, "environ", asked)
    if not any(name in environ for name in CONDITIONS):
        return response  # nothing to compare with: the page as it is
    return response.make_conditional(asked)


# What the community's navigation offers besides its tabs
# (templates/communities/_community_nav.html).
NAV_ACTIONS = ("meeting.view", "moderation.manage", "community.manage_households",
               "community.manage_members", "community.manage_settings", "community.read_audit")


def community_nav(community) -> Markup:
    """The community's navigation in the page header: what the reader may open there is asked
    of the policy every time, and the links are drawn once per set of answers (and page, and
    language) and kept, as every reader with the same permissions sees the same."""
    actions = sorted({*(tab.action for tab in community_tabs.values()), *NAV_ACTIONS})
    allowed = policy.answers(actions, community)
    answers = "".join("1" if allowed[action] else "0" for action in actions)
    return pagecache.shared_part(
        "community-nav", lambda: render_template(
            "communities/_community_nav.html", community=community,
            may=allowed.__getitem__),  # an action not asked above fails loudly
        by=f"{request.script_root}/{community.id}/{request.endpoint}/{answers}")


# Stand for the reader's own token and address in a kept masthead.
MASTHEAD_TOKEN = "\x1alinli-masthead-token\x1a"
MASTHEAD_NEXT = "\x1alinli-masthead-next\x1a"
MASTHEADS_KEPT = 1024


class Kept:
    """A small store of drawn parts, in this process, that forgets the least used first.
    What it keeps is a pure function of its key: nothing in it goes stale."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            if len(self.items) > self.size:
                self.items.popitem(last=False)


_mastheads = Kept(MASTHEADS_KEPT)


@pass_context
def masthead(context) -> Markup:
    """The top of every page: the brand, and the menu's account and display parts. Drawn once
    for each combination of what it shows (whether the reader is signed in, their name and
    whether they are an admin, their unread count, the language and text size) and kept; the
    reader's own form token and the address their preferences return to are put in each time."""
    user = context["current_user"]
    signed_in = bool(user.is_authenticated)
    key = (signed_in, signed_in and user.display_name, signed_in and user.is_admin,
           context.get("unread_notifications"), context["locale_code"],
           bool(context["large_text"]), tuple(context["languages"].items()),
           request.script_root)
    html = _mastheads.get(key)
    if html is None:
        html = context.environment.get_template("_masthead.html").render(
            {**context.get_all(), "menu_next": MASTHEAD_NEXT})
        html = html.replace(generate_csrf(), MASTHEAD_TOKEN)
        _mastheads.put(key, html)
    return Markup(html.replace(MASTHEAD_TOKEN, generate_csrf()).replace(
        MASTHEAD_NEXT, str(escape(request.full_path.rstrip("?")))))


def uses_htmx() -> str:
    """Called by every template part that carries hx-* attributes: the page then loads htmx
    (at the end of the body, so the parts above can still ask for it). Pages without such
    parts load no htmx at all."""
    g.uses_htmx = True
    return ""


def _count_queries(_conn, _cursor, _statement, *args) -> None:
    if has_request_context():
        g.linli_queries = g.get("linli_queries", 0) + 1


def _queries_header(response):
    response.headers["X-Queries"] = str(g.get("linli_queries", 0))
    return response


def init_app(app: Flask) -> None:
    if app.config.get("COUNT_QUERIES"):
        # For measuring (bench/pages.py): each answer says how many SQL statements it ran.
        if not event.contains(Engine, "before_cursor_execute", _count_queries):
            event.listen(Engine, "before_cursor_execute", _count_queries)
        app.after_request(_queries_header)
    app.url_map.converters["int"] = IdConverter
    app.jinja_env.globals["uses_htmx"] = uses_htmx
    app.jinja_env.globals["community_nav"] = community_nav
    app.jinja_env.globals["masthead"] = masthead
    app.before_request(_without_control_characters)
    # after_request runs the last registered first: digest the page, compress it, then tag
    # it with the digest and its encoding.
    app.after_request(_conditional)
    app.after_request(_compressed)
    app.after_request(_digest)
