"""The current time for every rule that depends on it, in one place so tests can freeze it."""
from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    """Naive UTC, like every DateTime column."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def utcnow() -> datetime:
    """What every DateTime column stores by default (Babel shows it in the community's timezone);
    read from the one clock that tests can freeze."""
    return now()
