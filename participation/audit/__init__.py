"""The audit log: every module records who did what with `operations.record`, and says here how
its entries read on the audit page: a sentence per action naming its object with a link, and its
details with translated names and values. Modules and areas fill these registries when they are
registered, so the log never needs to know them."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

# action -> a sentence; `%(object)s` stands for the entry's object (named and linked), and
# `%(key)s` for a detail (its value translated).
ACTION_LABELS: dict[str, LazyString] = {}


@dataclass
class Details:
    """How the details an action records read: their names, their values (a table of
    translated values, or a function of the value), and which name another object by id."""

    labels: dict[str, LazyString] = field(default_factory=dict)
    values: dict[str, dict | Callable[[Any], str]] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)


# Details several modules record, read the same everywhere.
COMMON = Details(labels={"reason": _l("Reason"), "title": _l("Title")})
# action -> how its details read
ACTION_DETAILS: dict[str, Details] = {}
# Details that only repeat the object's name as it was then: left out when the object is named.
NAME_DETAILS = {"title", "member"}


@dataclass(frozen=True)
class AuditObject:
    """A kind of object audit entries are about (`target="kind:id"`).

    - `load(ids)`: {id: (name, url or None)} for those that still exist; the name says what it
      is ("the consultation “Pocket park”");
    - `gone`: how one that no longer exists is named.
    """

    load: Callable[[set[int]], dict[int, tuple[str, str | None]]]
    gone: LazyString


OBJECTS: dict[str, AuditObject] = {}


def describe(labels: dict[str, LazyString], details: dict[str, LazyString] | None = None,
             values: dict | None = None, objects: dict[str, str] | None = None) -> None:
    """Say how a module's audit actions read (called when the module is registered): the
    sentence of each action and, for these actions, the names of the details they record, how
    their values read, and which details are the id of another object."""
    ACTION_LABELS.update(labels)
    for action in labels:
        ACTION_DETAILS[action] = Details(dict(details or {}), dict(values or {}),
                                         dict(objects or {}))


def detail_label(action: str, key: str) -> LazyString | None:
    return ACTION_DETAILS.get(action, COMMON).labels.get(key) or COMMON.labels.get(key)


def name_objects(kind: str, load: Callable, gone: LazyString) -> None:
    """Say how the objects of one kind are named and linked on the audit page."""
    OBJECTS[kind] = AuditObject(load, gone)


@dataclass
class Entry:
    """An audit event as the page reads it."""

    event: Any
    sentence: Markup
    details: list[tuple[str, Markup]] = field(default_factory=list)


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _target(value: str | None) -> tuple[str, int] | None:
    kind, _sep, raw = (value or "").partition(":")
    return (kind, int(raw)) if raw.isdigit() else None


def _link(name: str, url: str | None) -> Markup:
    return Markup('<a href="%s">%s</a>') % (url, name) if url else escape(name)


def present(events: Iterable) -> list[Entry]:
    """Turn a page of audit events into sentences and readable details, naming each object
    with one query per kind of object."""
    events = list(events)
    wanted: dict[str, set[int]] = {}
    for e in events:
        if target := _target(e.target):
            wanted.setdefault(target[0], set()).add(target[1])
        objects = ACTION_DETAILS.get(e.action, COMMON).objects
        for key, value in (e.details or {}).items():
            if key in objects and isinstance(value, int):
                wanted.setdefault(objects[key], set()).add(value)
    named = {kind: OBJECTS[kind].load(ids) for kind, ids in wanted.items() if kind in OBJECTS}

    def object_of(kind: str, id: int) -> Markup:
        if kind not in OBJECTS:
            return escape(_("something"))
        found = named.get(kind, {}).get(id)
        return _link(*found) if found else escape(str(OBJECTS[kind].gone))

    entries = []
    for e in events:
        how = ACTION_DETAILS.get(e.action, COMMON)
        details = dict(e.details or {})
        target = _target(e.target)
        label = ACTION_LABELS.get(e.action)
        template = str(label) if label is not None else _("Made a change")
        used = set(_PLACEHOLDER.findall(template))
        named_object = target is not None and target[0] in OBJECTS

        def read(key, value):
            if key in how.objects and isinstance(value, int):
                return object_of(how.objects[key], value)
            return _value(how.values.get(key), value)

        values = {key: read(key, details.get(key)) for key in used if key != "object"}
        values["object"] = object_of(*target) if target else escape(_("something"))
        sentence = escape(template) % values if used else escape(template)
        shown = [(str(detail_label(e.action, key) or key.replace("_", " ")), read(key, value))
                 for key, value in details.items()
                 if key not in used and value not in (None, "")
                 and not (key in NAME_DETAILS and named_object)]
        entries.append(Entry(e, Markup(sentence), shown))
    return entries


def _value(how, value) -> Markup:
    if value is None:
        return Markup("")
    if isinstance(value, bool):
        return escape(_("yes") if value else _("no"))
    if callable(how):
        return escape(how(value))
    if isinstance(how, dict) and str(value) in how:
        return escape(str(how[str(value)]))
    return escape(str(value))
