"""Guardian consent and children's profiles.

Nothing about a child is kept without its guardian's valid consent: given to the current
version of the children's information notice and not withdrawn. A new version of the notice
asks again before any new use. Withdrawing deletes every child of the guardian in the
community with all that the areas keep about them (registered with `add_child_data`); the
audit log records that it happened and how many, never who the children were."""
from __future__ import annotations

import re
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from participation.accounts.models import User
from participation.audit.operations import record
from participation.clock import utcnow
from participation.communities.models import Community
from participation.database import insert_unless_exists
from participation.errors import OperationError
from participation.extensions import db
from participation.i18n import today_shown
from participation.registries import child_data

from .models import NICKNAME_MAX, ChildProfile, GuardianConsent, PaperConsent


def notice_version() -> int:
    """The version of the children's information notice in force (a setting)."""
    return int(current_app.config["CHILDREN_NOTICE_VERSION"])


def latest_answer(user: User, community: Community) -> GuardianConsent | None:
    return db.session.scalar(select(GuardianConsent).where(
        GuardianConsent.user_id == user.id, GuardianConsent.community_id == community.id)
        .order_by(GuardianConsent.id.desc()).limit(1))


def consent_state(answer: GuardianConsent | None) -> str:
    """"none" (never answered), "valid", "outdated" (consent to an earlier version),
    "refused" or "withdrawn"."""
    if answer is None:
        return "none"
    if not answer.agreed:
        return "refused"
    if answer.withdrawn_at is not None:
        return "withdrawn"
    return "valid" if answer.notice_version == notice_version() else "outdated"


def valid_consent(user: User, community: Community) -> GuardianConsent | None:
    """The guardian's consent in force, or None: what every use of a child's data checks."""
    answer = latest_answer(user, community)
    return answer if consent_state(answer) == "valid" else None


def require_consent(user: User, community: Community) -> GuardianConsent:
    consent = valid_consent(user, community)
    if consent is None:
        raise OperationError(_("Read the children's information notice and give your consent "
                               "first: without it nothing about a child is kept."))
    return consent


def answer_notice(user: User, community: Community, agreed: bool) -> GuardianConsent:
    """Record the guardian's consent to, or refusal of, the current notice. The same answer
    sent twice is the one already recorded."""
    version = notice_version()
    answer = latest_answer(user, community)
    if answer is not None and answer.notice_version == version and answer.agreed == agreed \
            and answer.withdrawn_at is None:
        return answer
    if not agreed and consent_state(answer) in ("valid", "outdated"):
        withdraw(user, community)  # refusing what was consented to deletes, as withdrawing does
    answer = GuardianConsent(user_id=user.id, community_id=community.id,
                             notice_version=version, agreed=agreed, at=utcnow())
    db.session.add(answer)
    db.session.flush()
    record("children.consent" if agreed else "children.refuse", actor=user,
           community=community, target=f"user:{user.id}", version=str(version))
    return answer


def children_of(user: User, community: Community) -> list[ChildProfile]:
    return list(db.session.scalars(select(ChildProfile).where(
        ChildProfile.guardian_id == user.id, ChildProfile.community_id == community.id)
        .order_by(ChildProfile.id)))


def add_child(user: User, community: Community, nickname: str, age_band: str) -> ChildProfile:
    """A child's profile under the guardian's valid consent; the same nickname twice is
    refused (a double click adds one child)."""
    consent = require_consent(user, community)
    nickname, age_band = checked_child(nickname, age_band)
    limit = int(current_app.config["CHILDREN_PER_GUARDIAN"])
    # The guardian's rows are held until the request commits, so the limit holds at once too.
    db.session.get(User, user.id, with_for_update=True)
    added = {child.nickname for child in children_of(user, community)}
    if len(added) >= limit and nickname not in added:  # the same child sent twice passes
        raise OperationError(ngettext(
            "A guardian adds at most %(num)d child here: each child's stickers count in the "
            "children's vote, so ask the residents' committee if your family has more.",
            "A guardian adds at most %(num)d children here: each child's stickers count in "
            "the children's vote, so ask the residents' committee if your family has more.",
            limit))
    child = ChildProfile(community_id=community.id, guardian_id=user.id, consent_id=consent.id,
                         nickname=nickname, age_band=age_band)
    if not insert_unless_exists(child):
        existing = db.session.scalar(select(ChildProfile).where(
            ChildProfile.guardian_id == user.id, ChildProfile.community_id == community.id,
            ChildProfile.nickname == nickname))
        if existing is not None and existing.age_band == age_band:
            return existing  # sent twice
        raise OperationError(_("You have already added a child called “%(name)s”: choose "
                               "another nickname.", name=nickname))
    record("children.add", actor=user, community=community, target=f"user:{user.id}")
    return child


def identifying(text: str) -> bool:
    """Whether a child's text holds what would identify a child or family: a run of five
    digits or more (a phone or ID number) or an e-mail address."""
    return bool(_IDENTIFYING.search(text))


_IDENTIFYING = re.compile(r"\d{5,}|[^\s@]+@[^\s@]+")


def checked_child(nickname: str, age_band: str) -> tuple[str, str]:
    """A child's nickname, tidied, and age band, as kept; refused in words when unfit."""
    nickname = " ".join(nickname.split())
    if not nickname or len(nickname) > NICKNAME_MAX:
        raise OperationError(_("Give the child a nickname of at most %(n)d characters.",
                               n=NICKNAME_MAX))
    if identifying(nickname) or sum(ch.isdigit() for ch in nickname) > 4:
        raise OperationError(_("A nickname has no long numbers in it (no phone or ID "
                               "numbers)."))
    if age_band not in current_app.config["CHILD_AGE_BANDS"]:
        raise OperationError(_("Choose the child's age."))
    return nickname, age_band


def attest_paper_consents(planner: User, community: Community, collected_by: str,
                          collected_on: date, count: int,
                          children: list[tuple[str, str]]) -> list[ChildProfile]:
    """Profiles for the children of an offline workshop, under the planner's attestation that
    `count` guardians' consents were collected on paper by `collected_by` on `collected_on`.
    There are never more children than consents."""
    collected_by = " ".join(collected_by.split())
    if not collected_by:
        raise OperationError(_("Say who collected the guardians' paper consents."))
    if collected_on > today_shown():
        raise OperationError(_("The paper consents cannot have been collected in the future."))
    if not children:
        raise OperationError(_("Add at least one child's drawing."))
    if len(children) > count:
        raise OperationError(_("There are more children than paper consents: every child needs "
                               "a guardian's consent."))
    checked = [checked_child(nickname, band) for nickname, band in children]
    if len({nickname for nickname, _band in checked}) < len(checked):
        raise OperationError(_("Two children have the same nickname: give each child their "
                               "own."))
    attestation = PaperConsent(community_id=community.id, recorded_by_id=planner.id,
                               collected_by=collected_by, collected_on=collected_on,
                               count=count)
    db.session.add(attestation)
    db.session.flush()
    profiles = [ChildProfile(community_id=community.id, paper_consent_id=attestation.id,
                             nickname=nickname, age_band=band) for nickname, band in checked]
    db.session.add_all(profiles)
    db.session.flush()
    record("children.paper_consents", actor=planner, community=community,
           target=f"user:{planner.id}", consents=str(count), children=str(len(profiles)))
    return profiles


def erase_workshop_child(planner: User, child: ChildProfile) -> None:
    """A child of a workshop whose guardian asks, on paper or in person, for the child's data
    to be deleted: the planner deletes it all."""
    community = db.session.get(Community, child.community_id)
    _erase([child.id])
    record("children.remove", actor=planner, community=community,
           target=f"user:{planner.id}")


def held_data(ids: list[int]) -> list[str]:
    """What the areas keep about these children, in words ("3 drawings"), for confirmations."""
    if not ids:
        return []
    return [kind.label(n) for kind in child_data.values() if (n := kind.count(ids))]


def _erase(ids: list[int]) -> None:
    # Held first: what is being added for these children meanwhile waits, then is erased too.
    db.session.execute(select(ChildProfile.id).where(ChildProfile.id.in_(ids))
                       .with_for_update())
    for kind in child_data.values():
        kind.erase(ids)
    db.session.execute(db.delete(ChildProfile).where(ChildProfile.id.in_(ids)))


def remove_child(user: User, child: ChildProfile) -> None:
    """Delete one child's profile and everything kept about the child."""
    community = db.session.get(Community, child.community_id)
    _erase([child.id])
    record("children.remove", actor=user, community=community, target=f"user:{user.id}")


def withdraw(user: User, community: Community) -> int:
    """Withdraw consent: every child of the guardian in the community is deleted with all
    that is kept about them. Returns how many children were deleted."""
    answer = latest_answer(user, community)
    # The rows are held until the request commits: a design being sent for one of the
    # children meanwhile waits, and is deleted with it.
    ids = list(db.session.scalars(select(ChildProfile.id).where(
        ChildProfile.guardian_id == user.id, ChildProfile.community_id == community.id)
        .with_for_update()))
    if consent_state(answer) in ("valid", "outdated"):
        answer.withdrawn_at = utcnow()
    elif not ids:
        raise OperationError(_("There is no consent to withdraw."))
    if ids:
        _erase(ids)
    record("children.withdraw", actor=user, community=community, target=f"user:{user.id}",
           children=str(len(ids)))
    return len(ids)

