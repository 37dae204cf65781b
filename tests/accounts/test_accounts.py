"""Registration, login/logout, sessions, password change and reset, rate limits."""
from __future__ import annotations

import logging
import re
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from participation.accounts.models import PasswordResetToken, User
from participation.clock import utcnow
from participation.extensions import db
from participation.security import token_hash
from tests.conftest import PASSWORD, csrf_from, login, post

NEW_PASSWORD = "a different long pass"


def register(client, **data):
    form = {"display_name": "林阿婆", "login": "13912345678", "password": PASSWORD,
            "confirm": PASSWORD, **data}
    return post(client, "/register", form, page="/register")


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def test_register_signs_in_and_sends_to_redeem(app, client):
    response = register(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/redeem")
    page = client.get("/redeem").get_data(as_text=True)
    assert "林阿婆" in page
    assert "兑换邀请码" in page or "邀请码" in page
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.phone == "13912345678"
        assert user.password_hash.startswith("scrypt:")
        assert user.locale == "zh_CN"


def test_register_with_email_normalises_case(app, client):
    assert register(client, login="Lin.Apo@Example.CN").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(User.email)) == "lin.apo@example.cn"


def test_duplicate_registration_is_refused_calmly_and_keeps_input(app, client, factory):
    factory.user(phone="13912345678")
    response = register(client, display_name="第二个账号")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "已经注册过" in html
    assert 'value="第二个账号"' in html  # what the user typed is still there
    assert count_users(app) == 1


def test_short_and_common_passwords_are_refused(app, client):
    short = register(client, password="abc123", confirm="abc123").get_data(as_text=True)
    assert "8" in short and count_users(app) == 0
    common = register(client, password="woaini1314", confirm="woaini1314")
    assert "这个密码太常见" in common.get_data(as_text=True)
    assert count_users(app) == 0


def test_malformed_phone_is_explained(client, app):
    html = register(client, login="12345").get_data(as_text=True)
    assert "11" in html
    assert count_users(app) == 0


def test_login_failure_does_not_reveal_whether_account_exists(client, factory):
    user = factory.user()
    wrong_password = post(client, "/login", {"login": user.login, "password": "nope nope nope"},
                          page="/login").get_data(as_text=True)
    no_account = post(client, "/login", {"login": "13000000000", "password": "nope nope nope"},
                      page="/login").get_data(as_text=True)
    message = "账号或密码不正确"
    assert message in wrong_password and message in no_account


def test_logout_is_post_only_and_old_cookie_is_refused(app, client, factory):
    user = factory.user(display_name="王师傅")
    login(client, user)
    assert client.get("/account").status_code == 200
    stolen = client.get_cookie("session").value
    assert client.get("/logout").status_code == 405
    response = post(client, "/logout", page="/account")
    assert response.status_code == 303
    assert client.get("/account").status_code == 302
    # Replaying the cookie from before the logout does not sign anybody in.
    client.set_cookie("session", stolen)
    assert client.get("/account").status_code == 302


def test_password_change_signs_out_other_browsers(app, factory):
    user = factory.user()
    phone, laptop = app.test_client(), app.test_client()
    login(phone, user)
    login(laptop, user)
    response = post(laptop, "/account/password",
                    {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                    page="/account")
    assert response.status_code == 303
    assert laptop.get("/account").status_code == 200  # this browser stays signed in
    assert phone.get("/account").status_code == 302   # the other one is signed out
    login(app.test_client(), user, NEW_PASSWORD)


def test_password_change_needs_current_password(client, factory):
    user = factory.user()
    login(client, user)
    html = post(client, "/account/password",
                {"current": "wrong password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                page="/account").get_data(as_text=True)
    assert "当前密码不正确" in html


def reset_link(caplog) -> str:
    links = [m for r in caplog.records for m in re.findall(r"/password/reset/\S+", r.getMessage())]
    assert links, "no reset link was logged"
    return links[-1]


def test_password_reset_by_logged_link_is_single_use(app, client, factory, caplog):
    user = factory.user(email="wang@example.cn")
    caplog.set_level(logging.WARNING, logger="participation.accounts.operations")
    response = post(client, "/password/forgot", {"login": "wang@example.cn"},
                    page="/password/forgot")
    assert response.status_code == 303
    link = reset_link(caplog)
    response = post(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page=link)
    assert response.status_code == 303
    login(client, user, NEW_PASSWORD)
    # The link is spent.
    again = client.get(link)
    assert again.status_code == 404
    assert "已过期或已被使用" in again.get_data(as_text=True)


def test_only_the_newest_reset_link_works_and_a_new_password_voids_them_all(
        app, client, factory, caplog):
    user = factory.user(email="lin@example.cn")
    caplog.set_level(logging.WARNING, logger="participation.accounts.operations")
    links = []
    for _ in range(3):
        post(client, "/password/forgot", {"login": "lin@example.cn"}, page="/password/forgot")
        links.append(reset_link(caplog))
    assert len(set(links)) == 3
    # Asking again voided the older links.
    assert [client.get(link).status_code for link in links] == [404, 404, 200]
    # A password changed in the account voids the newest one too.
    login(client, user)
    post(client, "/account/password", {"current": PASSWORD, "password": NEW_PASSWORD,
                                       "confirm": NEW_PASSWORD}, page="/account")
    assert client.get(links[-1]).status_code == 404
    # Using a link voids every other one.
    other = app.test_client()
    for _ in range(2):
        post(other, "/password/forgot", {"login": "lin@example.cn"}, page="/password/forgot")
        links.append(reset_link(caplog))
    with app.app_context():  # two live links at once, as two requests racing could leave
        db.session.execute(update(PasswordResetToken).where(
            PasswordResetToken.token_hash == token_hash(links[-2].rsplit("/", 1)[1]))
            .values(used_at=None))
        db.session.commit()
    used = post(other, links[-1], {"password": PASSWORD, "confirm": PASSWORD}, page=links[-1])
    assert used.status_code == 303
    assert other.get(links[-2]).status_code == 404


def test_reset_request_answers_the_same_for_unknown_accounts(client, factory, caplog):
    factory.user(email="known@example.cn")
    known = post(client, "/password/forgot", {"login": "known@example.cn"},
                 page="/password/forgot", follow_redirects=True).get_data(as_text=True)
    unknown = post(client, "/password/forgot", {"login": "nobody@example.cn"},
                   page="/password/forgot", follow_redirects=True).get_data(as_text=True)
    notice = "如果该电子邮箱已注册"
    assert notice in known and notice in unknown


def test_expired_reset_link_is_refused(app, client, factory, caplog):
    factory.user(email="late@example.cn")
    caplog.set_level(logging.WARNING, logger="participation.accounts.operations")
    post(client, "/password/forgot", {"login": "late@example.cn"}, page="/password/forgot")
    link = reset_link(caplog)
    with app.app_context():
        db.session.execute(update(PasswordResetToken).values(
            expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    assert client.get(link).status_code == 404


def test_login_is_rate_limited_per_account(app, client, factory):
    user = factory.user()
    statuses = []
    for _ in range(7):
        statuses.append(post(client, "/login", {"login": user.login, "password": "wrong pass 1"},
                             page="/login").status_code)
    assert statuses[:5] == [200] * 5
    assert statuses[-1] == 429
    blocked = post(client, "/login", {"login": user.login, "password": PASSWORD}, page="/login")
    assert blocked.status_code == 429
    assert "尝试次数过多" in blocked.get_data(as_text=True)
    # The owner, from their own address, is not locked out by someone else's wrong guesses.
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert post(owner, "/login", {"login": user.login, "password": PASSWORD},
                page="/login").status_code == 303
    # Another account from the same address is not locked out by this one.
    other = factory.user()
    assert post(client, "/login", {"login": other.login, "password": PASSWORD},
                page="/login").status_code == 303


def test_wrong_passwords_from_many_addresses_meet_a_much_higher_ceiling(app, factory):
    user = factory.user()
    app.config["RATELIMIT_LOGIN_ACCOUNT"] = "12 per hour"
    statuses = []
    for n in range(13):
        guesser = app.test_client()
        guesser.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        statuses.append(post(guesser, "/login", {"login": user.login, "password": "wrong pass 1"},
                             page="/login").status_code)
    assert statuses[:12] == [200] * 12 and statuses[12] == 429


def test_login_is_rate_limited_per_ip(app, factory):
    client = app.test_client()
    users = [factory.user() for _ in range(11)]
    statuses = [post(client, "/login", {"login": u.login, "password": "wrong pass 1"},
                     page="/login").status_code for u in users]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429


def test_next_parameter_only_follows_local_paths(client, factory):
    user = factory.user()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": token, "login": user.login,
                                           "password": PASSWORD, "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_double_submitted_registration_creates_one_account_calmly(app, client):
    token = csrf_from(client.get("/register").get_data(as_text=True))
    form = {"csrf_token": token, "display_name": "王师傅", "login": "13911112222",
            "password": PASSWORD, "confirm": PASSWORD}
    first = client.post("/register", data=form)
    second = client.post("/register", data=form)  # the same form, clicked twice
    assert first.status_code == 303 and second.status_code == 303
    assert count_users(app) == 1


def test_rate_limit_counts_live_in_redis_when_configured(_schema, factory):
    """With RATELIMIT_STORAGE_URI pointing at Redis, every worker shares the same counts."""
    import pytest
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    client.flushdb()
    from tests.conftest import make_app

    app = make_app(_schema, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15")
    factory.app = app
    user = factory.user()
    web = app.test_client()
    statuses = [post(web, "/login", {"login": user.login, "password": "wrong pass 1"},
                     page="/login").status_code for _ in range(6)]
    assert statuses[-1] == 429
    assert any(b"login" in key for key in client.keys("*"))
    client.flushdb()
    client.close()
    with app.app_context():
        db.engine.dispose()


class SMTPSink:
    """A minimal SMTP server on loopback that keeps every message it receives."""

    def __init__(self):
        import socketserver
        import threading

        sink = self
        self.messages: list[bytes] = []

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 sink\r\n")
                while line := self.rfile.readline():
                    command = line.strip().upper()
                    if command.startswith((b"EHLO", b"HELO")):
                        self.wfile.write(b"250 sink\r\n")
                    elif command == b"DATA":
                        self.wfile.write(b"354 go on\r\n")
                        body = []
                        while (data := self.rfile.readline()) not in (b".\r\n", b""):
                            body.append(data)
                        sink.messages.append(b"".join(body))
                        self.wfile.write(b"250 ok\r\n")
                    elif command == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, count: int = 1, seconds: float = 5.0) -> list:
        """The messages received, parsed, once `count` have arrived (mail goes out in the
        background)."""
        import email
        from email import policy

        deadline = time.monotonic() + seconds
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return [email.message_from_bytes(m, policy=policy.default) for m in self.messages]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_reset_link_is_mailed_where_smtp_is_configured(app, client, factory, caplog):
    sink = SMTPSink()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port)
        user = factory.user(email="mail@example.cn")
        caplog.set_level(logging.WARNING, logger="participation.accounts.operations")
        post(client, "/password/forgot", {"login": "mail@example.cn"}, page="/password/forgot")
        messages = sink.wait()
    finally:
        sink.close()
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "mail@example.cn"
    body = message.get_content()
    link = re.search(r"http://localhost(/password/reset/\S+)", body).group(1)
    assert not any("/password/reset/" in r.getMessage() for r in caplog.records)  # not logged
    post(client, link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page=link)
    login(client, user, NEW_PASSWORD)


def test_common_chinese_passwords_are_refused(app, client):
    for password in ("qq123456", "woaini520520", "zxcvbnm123", "password!"):
        html = register(client, password=password, confirm=password).get_data(as_text=True)
        assert "这个密码太常见" in html, password
    assert count_users(app) == 0


def test_successful_logins_do_not_count_toward_the_limit(app, factory):
    user = factory.user()
    for _ in range(8):
        client = app.test_client()
        assert login(client, user).status_code == 303
