"""The registries through which modules and areas plug into the core: the tabs of a community's
pages, the sections of its home, what agenda items of deliberation meetings can link to,
panels on a consultation's page, what points at a site of the inventory, what the plan's
projects are built from, and the demo's seeders."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from flask import Blueprint, Flask
from flask_babel import LazyString

from . import policy


def plug_in(app: Flask, blueprint: Blueprint, rules: dict | None = None) -> None:
    """Plug a module of the core or an area in: its blueprint and its permission rules."""
    for action, predicate in (rules or {}).items():
        policy.register(action, predicate)
    app.register_blueprint(blueprint)


@dataclass(frozen=True)
class CommunityTab:
    endpoint: str  # takes `community_id`
    label: LazyString
    action: str  # the permission that shows the tab
    also: tuple[str, ...] = ()  # other endpoints of the section the tab opens (marked current)


community_tabs: dict[str, CommunityTab] = {}


def add_community_tab(tab: CommunityTab) -> None:
    community_tabs[tab.endpoint] = tab


@dataclass(frozen=True)
class AgendaLink:
    """Something from an area that a meeting's agenda item can point to (e.g. a proposal).

    - `choices(community)`: (id, title) pairs to pick from;
    - `load(items)`: {agenda item id: (id, title, url)} for the items that have a link;
    - `save(item, id or None)`: set or clear the link of one (flushed) agenda item.
    """

    key: str
    label: LazyString
    choices: Callable
    load: Callable
    save: Callable


agenda_links: dict[str, AgendaLink] = {}


def add_agenda_link(link: AgendaLink) -> None:
    agenda_links[link.key] = link


@dataclass(frozen=True)
class ConsultationPanel:
    """A part of a consultation's page: `template` is rendered with `community`, `consultation`
    and, as `data`, what `load(consultation)` returns (a dict; nothing when there is no `load`).
    Panels stand in the order of `order`, low first."""

    template: str
    load: Callable | None = None
    order: int = 50


consultation_panels: list[ConsultationPanel] = []


def add_consultation_panel(panel: ConsultationPanel) -> None:
    if panel not in consultation_panels:
        consultation_panels.append(panel)
        consultation_panels.sort(key=lambda p: p.order)


@dataclass(frozen=True)
class SiteReference:
    """What points at a site of the inventory, for the site's page: `load(site)` gives the
    (title, url) pairs of what an area ties to it (its proposals, say), a bounded number."""

    key: str
    label: LazyString
    load: Callable


site_references: dict[str, SiteReference] = {}


def add_site_reference(reference: SiteReference) -> None:
    site_references[reference.key] = reference


@dataclass(frozen=True)
class SourceItem:
    """One thing a plan's project can be built from: a checklist gap, a proposal, an option of
    a ballot, a meeting's decision. `ref` identifies it within its source; `signal` is what it
    weighs in the project's priority (the number of supports, of votes...), `detail` says so in
    words. `site_id`, `item_id`, `category` and `cost` prefill a project made from it."""

    ref: str
    title: str
    signal: Decimal
    detail: str = ""
    url: str | None = None
    site_id: int | None = None
    item_id: str | None = None
    category: str | None = None
    cost: Decimal | None = None


@dataclass(frozen=True)
class PlanSource:
    """A kind of thing the plan's projects are built from, registered by whoever owns it.

    - `signal`: what a source's signal counts, in the priority formula ("supports");
    - `weight`: its default weight in a new plan (a setting of each plan);
    - `candidates(community, query)`: SourceItems to build from, best first, a bounded number,
      matching the query text when there is one;
    - `load(community, refs)`: {ref: SourceItem} as they stand now, for those refs still there.
    A source with `offered` false is not picked in the builder: the plan adds it itself.
    Sources are listed (in the builder, in the formula) by `order`, low first.
    """

    key: str
    label: LazyString
    signal: LazyString
    weight: Decimal
    candidates: Callable
    load: Callable
    offered: bool = True
    order: int = 50


plan_sources: dict[str, PlanSource] = {}


def add_plan_source(source: PlanSource) -> None:
    plan_sources[source.key] = source
    ordered = sorted(plan_sources.values(), key=lambda s: s.order)
    plan_sources.clear()
    plan_sources.update((s.key, s) for s in ordered)


# What areas add to the demo community: each is called with (community, {login: user}) and
# must be idempotent, like the demo itself. Seeders run by `order`, low first: one that builds
# on what the areas seeded (the plan from their proposals) comes late.
demo_seeders: list[Callable] = []
_seeder_order: dict[Callable, int] = {}


def add_demo_seeder(seeder: Callable, order: int = 50) -> None:
    if seeder not in demo_seeders:
        demo_seeders.append(seeder)
        _seeder_order[seeder] = order
        demo_seeders.sort(key=lambda s: _seeder_order[s])


@dataclass(frozen=True)
class CommunitySection:
    """A section of a community's home page: `template` is rendered with `community` and what
    `load(community)` returns (a dict)."""

    template: str
    load: Callable


community_sections: list[CommunitySection] = []


def add_community_section(section: CommunitySection) -> None:
    if section not in community_sections:
        community_sections.append(section)


@dataclass(frozen=True)
class ChildData:
    """What an area keeps about children (drawings, sticker votes), so that a guardian's
    withdrawal deletes it with the children: `count(ids)` says how much there is, for the
    confirmation; `erase(ids)` deletes it, files included."""

    name: str
    label: Callable[[int], str]  # e.g. lambda n: ngettext("%(num)d drawing", ...)
    count: Callable[[list[int]], int]
    erase: Callable[[list[int]], None]


child_data: dict[str, ChildData] = {}


def add_child_data(kind: ChildData) -> None:
    child_data[kind.name] = kind
