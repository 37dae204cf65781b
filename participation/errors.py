"""The error every operation raises when a change cannot happen for a reason the user can act on."""
from __future__ import annotations


class OperationError(Exception):
    """A change refused for a reason the user can act on; the message is already translated."""
