"""The kinds of notification and how each reads. Areas add their kinds with `register`."""
from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

Text = Callable[[dict], str]
KINDS: dict[str, Text] = {}


def register(kind: str, text: Text) -> None:
    KINDS[kind] = text


def text(kind: str, params: dict | None) -> str:
    """The notification in the current locale."""
    render = KINDS.get(kind)
    return render(params or {}) if render else kind


def _phase(kind: str) -> str:
    from .phases import PHASE_KINDS

    return str(PHASE_KINDS[kind].label) if kind in PHASE_KINDS else kind


register("comment.reply", lambda p: _("%(name)s replied to your comment in “%(topic)s”.",
                                      name=p.get("name"), topic=p.get("topic")))
register("comment.answer", lambda p: _("The responsible planner answered your topic “%(topic)s”.",
                                       topic=p.get("topic")))
register("content.hidden", lambda p: _("A moderator hid something you wrote: %(reason)s",
                                       reason=p.get("reason")))
register("content.restored", lambda p: _("A moderator restored something you wrote: %(reason)s",
                                         reason=p.get("reason")))
register("member.blocked", lambda p: _("A moderator stopped you from posting in %(community)s: "
                                       "%(reason)s", community=p.get("community"),
                                       reason=p.get("reason")))
register("comment.on_topic", lambda p: _("%(name)s commented on your topic “%(topic)s”.",
                                         name=p.get("name"), topic=p.get("topic")))
register("consultation.new", lambda p: _("New consultation in your community: %(title)s",
                                         title=p.get("title")))
register("phase.started", lambda p: _("“%(title)s” has entered a new phase: %(phase)s",
                                      title=p.get("title"), phase=_phase(p.get("phase", ""))))
register("meeting.published", lambda p: _("The record of the meeting “%(title)s” is published.",
                                          title=p.get("title")))
