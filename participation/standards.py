"""Reference standards as data: the complete-community checklist (categories and items, each
with its requirement and, where it has one, the measure and reference value a checkup compares
with), read from data/complete-community.yaml, which a deployment may edit or replace
(LINLI_CHECKLIST_FILE); its sources are named inside."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import yaml
from flask import current_app, has_app_context

DEFAULT_FILE = files("participation").joinpath("data/complete-community.yaml")


@dataclass(frozen=True)
class Named:
    id: str
    name_zh: str
    name_en: str

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


@dataclass(frozen=True)
class Measure:
    """What a checkup measures for an item: `kind` (area_m2, count, walk_minutes, boolean, ...),
    the reference value where there is one, and how sure its source is: confirmed, secondary
    or unconfirmed (shown as "reference value, to be verified")."""

    kind: str
    threshold: Decimal | None
    status: str

    @property
    def verified(self) -> bool:
        return self.status != "unconfirmed"

    @property
    def at_most(self) -> bool:
        """True where less is better (minutes of walking)."""
        return self.kind == "walk_minutes"


@dataclass(frozen=True)
class Item(Named):
    category: str
    requirement_zh: str = ""
    requirement_en: str = ""
    measure: Measure | None = None

    def requirement(self, locale: str) -> str:
        return self.requirement_zh if locale.startswith("zh") else self.requirement_en


def _measure(raw: dict | None) -> Measure | None:
    if not raw:
        return None
    threshold = raw.get("threshold")
    return Measure(raw["kind"], None if threshold is None else Decimal(str(threshold)),
                   raw.get("status", "unconfirmed"))


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[tuple[Named, ...], tuple[Item, ...]]:
    text = DEFAULT_FILE.read_text("utf-8") if path == "" else Path(path).read_text("utf-8")
    data = yaml.safe_load(text)
    categories = tuple(Named(c["id"], c["name_zh"], c["name_en"]) for c in data["categories"])
    items = tuple(Item(i["id"], i["name_zh"], i["name_en"], i["category"],
                       i.get("requirement_zh", ""), i.get("requirement_en", ""),
                       _measure(i.get("measure"))) for i in data["items"])
    return categories, items


def checklist() -> tuple[tuple[Named, ...], tuple[Item, ...]]:
    """The checklist of the deployment's file (LINLI_CHECKLIST_FILE), else the one shipped."""
    path = current_app.config.get("CHECKLIST_FILE") if has_app_context() else None
    return _load(str(path or ""))


def item_names() -> dict[str, Item]:
    return {item.id: item for item in checklist()[1]}
