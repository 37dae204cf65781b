"""What areas plug into the core: the tabs of a community's pages, and what agenda items of
deliberation meetings can link to."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import LazyString


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


# Templates an area adds to a consultation's page (each gets `community` and `consultation`).
consultation_panels: list[str] = []


def add_consultation_panel(template: str) -> None:
    if template not in consultation_panels:
        consultation_panels.append(template)


# What areas add to the demo community: each is called with (community, {login: user}) and
# must be idempotent, like the demo itself.
demo_seeders: list[Callable] = []


def add_demo_seeder(seeder: Callable) -> None:
    if seeder not in demo_seeders:
        demo_seeders.append(seeder)
