"""Reference standards as data: the complete-community checklist (categories and items), read
from data/complete-community.yaml, which a deployment may edit; its sources are named inside."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import yaml


@dataclass(frozen=True)
class Named:
    id: str
    name_zh: str
    name_en: str

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


@dataclass(frozen=True)
class Item(Named):
    category: str


@cache
def checklist() -> tuple[tuple[Named, ...], tuple[Item, ...]]:
    data = yaml.safe_load(
        files("participation").joinpath("data/complete-community.yaml").read_text("utf-8"))
    categories = tuple(Named(c["id"], c["name_zh"], c["name_en"]) for c in data["categories"])
    items = tuple(Item(i["id"], i["name_zh"], i["name_en"], i["category"]) for i in data["items"])
    return categories, items


def item_names() -> dict[str, Item]:
    return {item.id: item for item in checklist()[1]}
