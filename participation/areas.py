"""What areas plug into the core: the tabs of a community's pages (more registries follow)."""
from __future__ import annotations

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
