"""Security baseline: headers, CSRF, request size, error pages, sanitiser."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from participation.accounts.models import User
from participation.extensions import db
from participation.sanitize import clean_html, render_markdown
from tests.conftest import PASSWORD, csrf_from, login, make_app, post


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in response.headers["Vary"]


def test_pages_have_no_inline_script(client):
    for path in ("/", "/login", "/register", "/password/forgot"):
        html = client.get(path).get_data(as_text=True)
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag, f"inline script on {path}"
        assert " on" + "click=" not in html


def test_session_cookie_flags(client, factory):
    user = factory.user()
    response = post(client, "/login", {"login": user.login, "password": PASSWORD}, page="/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forged_csrf_token_changes_nothing_and_is_explained(app, client):
    client.get("/register")
    response = client.post("/register", data={
        "csrf_token": "forged", "display_name": "x", "login": "13912345678",
        "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True) or "已过期" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_htmx_post_with_a_wrong_token_header_is_refused(client, factory):
    user = factory.user()
    login(client, user)
    response = client.post("/redeem", data={"code": "X"},
                           headers={"HX-Request": "true", "X-CSRFToken": "not-the-token"})
    assert response.status_code == 400


def test_htmx_post_with_token_header_is_accepted(client, factory):
    user = factory.user()
    login(client, user)
    token = csrf_from(client.get("/redeem").get_data(as_text=True))
    response = client.post("/redeem", data={"code": "X"},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    assert "无效" in response.get_data(as_text=True)


def test_oversize_request_is_refused_with_a_translated_message(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = client.post("/register", data={"display_name": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "1 MB" in response.get_data(as_text=True)


def test_unknown_locale_is_refused_and_nothing_changes(client):
    response = post(client, "/language", {"locale": "xx", "next": "/login"},
                    follow_redirects=True)
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN"' in html
    assert "不支持" in html or "不可用" in html


def test_server_error_shows_no_traceback(_schema):
    app = make_app(_schema, PROPAGATE_EXCEPTIONS=False)  # a route of its own: its own app

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret detail" not in html and "Traceback" not in html
    assert "出了点问题" in html
    with app.app_context():
        db.engine.dispose()


def test_error_pages_in_english(client):
    post(client, "/language", {"locale": "en", "next": "/"})
    response = client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert '<html lang="en"' in html and "Page not found" in html


# --- sanitiser --------------------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    '<div hx-get="/logout" hx-trigger="load">x</div>',
    '<svg onload="alert(1)"></svg>',
    "<iframe src='https://evil.example'></iframe>",
    '<p style="background:url(javascript:alert(1))">x</p>',
]


class ActiveContent(HTMLParser):
    """Collects what a browser would act on: tags, attribute names, URL values."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "iframe", "svg", "object", "embed", "style", "img", "form"}:
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith(("on", "hx-", "data-hx")) or name in {"style", "src"}:
                self.found.append(name)
            if value and re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(
                    ("javascript:", "vbscript:", "data:")):
                self.found.append(value)


def dangerous(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    parser.close()
    return parser.found


def test_known_payloads_are_defused():
    for payload in PAYLOADS:
        out = str(render_markdown(payload))
        assert not dangerous(out), (payload, out)


def test_markdown_keeps_formatting_and_marks_links():
    out = str(render_markdown("**重要** [居委会](https://example.cn)"))
    assert "<strong>重要</strong>" in out
    assert 'rel="nofollow noopener"' in out


# Random strings glued from the pieces attacks are made of, plus arbitrary text.
HTMLISH = st.lists(st.one_of(
    st.sampled_from(["<script>", "</script>", "<a href=", "javascript:", " onclick=", " hx-get=",
                     "<img src=x", "</a>", "&", "&#106;", "<p>", "[x](", ")", "**", "\n", ">",
                     "\"", "'", "<", "=", " ", "<svg", "<b>", "data:", "<!--", "-->", "`"]),
    st.text(max_size=5),
), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(HTMLISH)
def test_sanitiser_is_idempotent_and_never_emits_active_content(text):
    once = clean_html(text)
    assert clean_html(once) == once
    assert not dangerous(once)
    rendered = str(render_markdown(text))
    assert not dangerous(rendered)
    assert clean_html(rendered) == rendered


def test_mailed_links_ignore_a_forged_host_header(app):
    from participation.web import external_url

    headers = {"Host": "evil.example"}
    with app.test_request_context("/password/forgot", method="POST", headers=headers):
        # Without BASE_URL the link would follow the forged header...
        assert external_url("accounts.reset_password", token="t").startswith("http://evil.example/")
    app.config["BASE_URL"] = "https://linli.example.gov.cn"
    with app.test_request_context("/password/forgot", method="POST", headers=headers):
        # ...with it, links always point at the real site.
        assert external_url("accounts.reset_password", token="t") == \
            "https://linli.example.gov.cn/password/reset/t"


def test_anonymous_htmx_request_is_sent_to_login_with_hx_redirect(client):
    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post("/redeem", data={"code": "X"},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.headers["HX-Redirect"].startswith("/login")


def test_htmx_errors_are_swapped_into_main_with_a_message(client, factory):
    login(client, factory.user())
    response = client.post("/redeem", data={"code": "X"},
                           headers={"HX-Request": "true", "X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#main"
    html = response.get_data(as_text=True)
    assert "<html" not in html and "已过期" in html


def test_large_text_chosen_before_registering_is_kept(app, client):
    post(client, "/display", {"large_text": "on", "next": "/"})
    token = csrf_from(client.get("/register").get_data(as_text=True))
    client.post("/register", data={"csrf_token": token, "display_name": "林阿婆",
                                   "login": "13912340000", "password": PASSWORD,
                                   "confirm": PASSWORD})
    html = app.test_client().get("/").get_data(as_text=True)
    assert 'class="large-text"' not in html  # a new browser starts in normal mode...
    again = app.test_client()
    token = csrf_from(again.get("/login").get_data(as_text=True))
    again.post("/login", data={"csrf_token": token, "login": "13912340000",
                               "password": PASSWORD})
    assert 'class="large-text"' in again.get("/account").get_data(as_text=True)  # ...until login


# --- hostile input never ends in a 500 --------------------------------------------------------


@pytest.mark.parametrize("url, data", [
    ("/login", {"login": "139\x0000000001", "password": "pass\x00word"}),
    ("/register", {"display_name": "林\x00阿婆", "login": "13900000077",
                   "password": "a good long password", "confirm": "a good long password"}),
    ("/password/forgot", {"login": "x\x00@example.com"}),
])
def test_control_characters_in_forms_are_taken_out(app, client, url, data):
    response = post(client, url, data, page=url)
    assert response.status_code in (200, 303), response.status_code


def test_control_characters_in_query_and_path_are_answered(app, factory, client):
    community = factory.community()
    admin = factory.user(admin=True)
    login(client, admin)
    listing = client.get(f"/c/{community.id}/proposals?site=%00%01&category=a%00b")
    assert listing.status_code == 200
    assert client.get("/password/reset/ab%00cd").status_code == 404


@pytest.mark.parametrize("url", ["/c/99999999999999999999", "/c/2147483648",
                                 "/c/1/consultations/9223372036854775808"])
def test_ids_beyond_the_database_range_are_not_found(app, factory, client, url):
    login(client, factory.user(admin=True))
    assert client.get(url).status_code == 404


def test_an_untrusted_host_in_production_is_refused_with_the_security_headers(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'p.sqlite'}", PRODUCTION=True,
                   SECRET_KEY="k" * 20 + "9f3a0c2e5b7d1f4a6c8e",
                   BASE_URL="https://linli.example.gov.cn")
    response = app.test_client().get("/login", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    good = app.test_client().get("/favicon.ico", headers={"Host": "linli.example.gov.cn"})
    assert good.status_code == 301


def test_pages_are_compressed_for_browsers_that_take_it_and_describe_themselves(client):
    import gzip

    plain = client.get("/login")
    assert "Content-Encoding" not in plain.headers
    assert '<meta name="description" content="' in plain.get_data(as_text=True)
    packed = client.get("/login", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.vary
    page = gzip.decompress(packed.get_data())
    assert page.startswith(b"<!doctype html>") and len(page) == len(plain.get_data())
    assert len(packed.get_data()) * 2 < len(plain.get_data())
