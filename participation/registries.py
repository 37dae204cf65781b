"""The registries through which modules and areas plug into the core: the tabs of a community's
pages, the sections of its home, what agenda items of deliberation meetings can link to,
panels on a consultation's page, what points at a site of the inventory, and the demo's
seeders."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


# What areas add to the demo community: each is called with (community, {login: user}) and
# must be idempotent, like the demo itself.
demo_seeders: list[Callable] = []


def add_demo_seeder(seeder: Callable) -> None:
    if seeder not in demo_seeders:
        demo_seeders.append(seeder)


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
