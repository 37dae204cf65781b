"""Children (儿童参与): guardians' consent to the children's information notice and children's
profiles (nickname and age band only). Children never sign in; they take part through a
guardian's account, or a planner's workshop. What the areas keep about children (drawings,
sticker votes) is registered with `add_child_data`, so that withdrawing consent deletes it.

See the governance rules: PIPL art. 28 and 31, and the 2019 rules on children's personal
information online (guardian consent on a clear notice, minimal data, deletion on withdrawal)."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from participation import audit
from participation.policy import Role, all_of, anyone, has_role, is_authenticated, not_blocked
from participation.registries import CommunityTab, add_community_tab, plug_in

# Guardians are residents whose place in the community is known; a blocked member adds no
# children. Areas that use children's data (design calls) ask the same of who acts for them.
is_guardian = all_of(has_role(Role.VERIFIED, Role.COMMITTEE, Role.MODERATOR), not_blocked)

RULES = {
    # The notice is public: anyone may read what would be collected before deciding.
    "children.notice": anyone,
    "children.guardian": is_guardian,
    # What is already kept, a guardian sees and deletes whatever has become of their
    # membership (the views find only the signed-in guardian's own children).
    "children.own": is_authenticated,
}


def init_app(app: Flask) -> None:
    from .views import bp

    plug_in(app, bp, RULES)
    add_community_tab(CommunityTab("children.index", _l("My children"), "children.guardian",
                                   also=("children.consent", "children.new",
                                         "children.delete", "children.withdraw")))
    audit.describe({
        "children.consent": _l("Consented to the children's information notice"),
        "children.refuse": _l("Refused the children's information notice"),
        "children.add": _l("Added a child's profile"),
        "children.remove": _l("Deleted a child's profile and its data"),
        "children.withdraw": _l("Withdrew consent: children's profiles and data deleted"),
        "children.paper_consents": _l("Attested guardians' paper consents for a workshop"),
    }, details={"version": _l("Version"), "children": _l("Children"),
                "consents": _l("Paper consents")})
