"""The audit log: every module records who did what with `operations.record`, and says here how
its actions read on the audit page."""
from __future__ import annotations

from flask_babel import LazyString

ACTION_LABELS: dict[str, LazyString] = {}


def describe(labels: dict[str, LazyString]) -> None:
    """Say how a module's audit actions read (called when the module is registered)."""
    ACTION_LABELS.update(labels)


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
