"""Configuration: defaults, then the instance config file, then LINLI_/FLASK_ environment variables."""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask

# Keys shorter than this, or any of these, are refused in production.
MIN_SECRET_KEY_LENGTH = 32
WEAK_SECRET_KEYS = {"dev", "secret", "changeme", "change-me", "development", "test", "linli"}


class Defaults:
    PRODUCTION = False
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # Every request body, uploads included, is capped: six photos at the per-photo limit
    # (uploads.PHOTO_MAX_BYTES) and the text fit, so a photo too large is refused in its form,
    # with what was typed kept, rather than by a bare "too large" page.
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_CN": "中文", "en": "English"}
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN = "10 per minute;50 per hour"
    RATELIMIT_ACCOUNT = "5 per minute;20 per hour"
    # Wrong passwords for one account: from one address the waits grow (a minute, an hour, a
    # day); from everywhere together only a much higher ceiling, so nobody can lock a neighbour
    # out by typing wrong passwords for their account (OWASP, "Authentication Cheat Sheet").
    RATELIMIT_LOGIN_ACCOUNT_ADDRESS = "5 per minute;20 per hour;50 per day"
    RATELIMIT_LOGIN_ACCOUNT = "100 per hour;500 per day"
    RATELIMIT_REGISTER = "10 per minute;100 per day"
    # Links in e-mails and on printed slips start with this, e.g. "https://linli.example.gov.cn".
    BASE_URL = None
    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto (0: none).
    PROXY_COUNT = 0
    PASSWORD_RESET_HOURS = 1
    INVITE_CODE_DAYS = 30
    PAGE_SIZE = 50
    COMMENT_EDIT_MINUTES = 15
    # Content is hidden automatically once this many members have reported it.
    REPORTS_TO_HIDE = 3
    COMMENTS_PER_PAGE = 50
    REPLIES_PER_THREAD = 20  # more replies than this: a link to the thread's own page
    THREAD_REPLIES_MAX = 1000
    UPLOAD_FOLDER = None  # where pictures are kept; by default instance/uploads
    PAPER_ENTRY_DAYS = 3  # paper ballots may be entered this long after a vote closes
    # How long a decided plan stays under public notice (公示) for objections; real periods
    # are 5 or 7 working days or 15 days (see the governance rules): a setting.
    PLAN_NOTICE_DAYS = 7
    # Children take part by age band; there are no national bands (children's councils are
    # mostly 9 to 14; a child is under 14 in law), so the bands are a setting.
    CHILD_AGE_BANDS = ("6-8", "9-11", "12-14")
    # The children's information notice guardians consent to is templates/children/_notice.html,
    # which a deployment may edit: raise the version with every change, and guardians are asked
    # to consent again before their children's data is used anew.
    CHILDREN_NOTICE_VERSION = 1
    # Who answers for children's data (儿童个人信息保护专门负责人) and how to reach them; by default
    # the community's residents' committee.
    CHILDREN_DATA_CONTACT = None
    # How many stickers each child places on the designs of a call, in the children's vote, and
    # how many children one guardian adds (each child's stickers count).
    DESIGN_STICKERS = 3
    CHILDREN_PER_GUARDIAN = 4
    # Interim results of a running vote are counted at most this often (0: at every view).
    INTERIM_RESULTS_SECONDS = 15
    # The complete-community checklist a checkup follows: a YAML file like
    # participation/data/complete-community.yaml (None: that one).
    CHECKLIST_FILE = None
    CACHE_TYPE = "SimpleCache"
    CACHE_DEFAULT_TIMEOUT = 60
    CACHE_THRESHOLD = 5000  # entries a worker's own cache holds (SimpleCache)
    # Public pages for visitors not signed in are kept this long at most (0: not kept).
    PUBLIC_PAGE_SECONDS = 30
    COUNT_QUERIES = False  # LINLI_COUNT_QUERIES=1: answers carry X-Queries (for benchmarks)
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_SENDER = "linli@localhost"


def load_config(app: Flask, overrides: dict | None = None) -> None:
    """Fill `app.config` in order: defaults, instance/config.py, prefixed env vars, overrides."""
    app.config.from_object(Defaults)
    app.config.from_pyfile(os.path.join(app.instance_path, "config.py"), silent=True)
    app.config.from_prefixed_env("FLASK")
    app.config.from_prefixed_env("LINLI")
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = os.environ["RATELIMIT_STORAGE_URI"]
    if os.environ.get("CACHE_REDIS_URL") or app.config.get("CACHE_REDIS_URL"):
        app.config["CACHE_REDIS_URL"] = (os.environ.get("CACHE_REDIS_URL")
                                         or app.config["CACHE_REDIS_URL"])
        app.config["CACHE_TYPE"] = "RedisCache"
    if overrides:
        app.config.update(overrides)

    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'linli.sqlite'}"
    if app.config["PRODUCTION"]:
        app.config["SESSION_COOKIE_SECURE"] = True
        check_secret_key(app.config.get("SECRET_KEY"))
        if not app.config.get("BASE_URL"):
            raise RuntimeError("Production needs LINLI_BASE_URL, the address residents use "
                               "(links in e-mails and on printed slips are built from it).")
        if not app.config.get("TRUSTED_HOSTS"):
            app.config["TRUSTED_HOSTS"] = [urlsplit(app.config["BASE_URL"]).hostname]
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(instance)


def instance_secret_key(instance: Path) -> str:
    """Return the key kept in the instance folder, generating it on first start."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: several workers starting at once all end up
        # reading the one complete key that won.
        fd, tmp = tempfile.mkstemp(dir=instance, prefix=".secret_key.")
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def check_secret_key(key: str | None) -> None:
    """Refuse to run in production with a missing or guessable secret key."""
    if not key or len(key) < MIN_SECRET_KEY_LENGTH or key.lower() in WEAK_SECRET_KEYS:
        raise RuntimeError(
            "Production needs a strong SECRET_KEY (LINLI_SECRET_KEY, at least "
            f"{MIN_SECRET_KEY_LENGTH} random characters)."
        )
