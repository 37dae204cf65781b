"""The current time for every rule that depends on it, in one place so tests can freeze it."""
from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    """Naive UTC, like every DateTime column."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
