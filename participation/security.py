"""Security baseline: response headers, password rules, hashed secrets and tokens."""
from __future__ import annotations

import hashlib
import secrets
from functools import cache
from importlib.resources import files

from flask import Flask, Response
from werkzeug.security import check_password_hash, generate_password_hash

MIN_PASSWORD_LENGTH = 8
PASSWORD_METHOD = "scrypt"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def set_security_headers(response: Response) -> Response:
    # Those a view set itself stay. (Read in one pass: each header Werkzeug fails to find
    # costs it an exception, and every answer goes through here.)
    present = {name.lower() for name, _value in response.headers}
    for name, value in SECURITY_HEADERS:
        if name.lower() not in present:
            response.headers[name] = value
    # Pages differ for htmx requests (fragments) and full loads; caches must keep them apart.
    add_vary(response, "HX-Request")
    return response


def add_vary(response: Response, name: str) -> None:
    """Add `name` to the answer's Vary header (as response.vary.add does, without parsing the
    header into a set and writing it back: every answer goes through here twice)."""
    current = response.headers.get("Vary")
    if not current:
        response.headers["Vary"] = name
    elif name.lower() not in {part.strip().lower() for part in current.split(",")}:
        response.headers["Vary"] = f"{current}, {name}"


def init_app(app: Flask) -> None:
    app.after_request(set_security_headers)


@cache
def common_passwords() -> frozenset[str]:
    text = files("participation").joinpath("data/common-passwords.txt").read_text("utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def password_problem(password: str) -> str | None:
    """Return the reason a password is refused (an untranslated key), or None if it is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if password.lower() in common_passwords() or len(set(password)) < 3:
        return "too_common"
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=PASSWORD_METHOD)


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


# Checked against when no account matches, so a login takes as long either way.
DUMMY_PASSWORD_HASH = generate_password_hash("not a real password", method=PASSWORD_METHOD)


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """Tokens and invite codes are stored only as SHA-256: they are long random strings."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
