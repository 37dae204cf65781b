"""Notifications: what members are told, in the app and by e-mail. The kinds and how each reads
are a registry that every module and area fills with `register`."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask

Text = Callable[[dict], str]
KINDS: dict[str, Text] = {}


def register(kind: str, text: Text) -> None:
    KINDS[kind] = text


def text(kind: str, params: dict | None) -> str:
    """The notification in the current locale."""
    render = KINDS.get(kind)
    return render(params or {}) if render else kind


def init_app(app: Flask) -> None:
    from participation.registries import plug_in

    from .views import bp, notification_context

    plug_in(app, bp)
    app.context_processor(notification_context)
