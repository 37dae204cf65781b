"""Phase kinds and what each allows, and the consultation templates built from them.

A consultation is a sequence of phases; the active phase's kind decides which features are open
(adhocracy4's phase-feature registry). The core declares the kinds and its own features; each area
adds the features it owns when `create_app` registers it (e.g. proposals add "proposal.submit" to
the collect phase). The permission policy asks `phase_allows()`; views never check phases
themselves.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib.resources import files

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


@dataclass
class PhaseKind:
    key: str
    label: LazyString
    features: set[str] = field(default_factory=set)


PHASE_KINDS: dict[str, PhaseKind] = {
    kind.key: kind for kind in (
        PhaseKind("collect", _l("Collect ideas"), {"discussion.open_topic", "discussion.comment"}),
        PhaseKind("deliberate", _l("Deliberate"), {"discussion.open_topic", "discussion.comment"}),
        PhaseKind("vote", _l("Vote"), {"discussion.comment"}),
        PhaseKind("results", _l("Results notice"), set()),
        PhaseKind("survey", _l("Survey"), {"discussion.comment"}),
        PhaseKind("design", _l("Design collection"), {"discussion.comment"}),
        PhaseKind("children_vote", _l("Children's vote"), set()),
        PhaseKind("exhibition", _l("Exhibition"), {"discussion.comment"}),
        PhaseKind("agenda", _l("Agenda"), {"discussion.open_topic", "discussion.comment"}),
        PhaseKind("meeting", _l("Meeting"), set()),
        PhaseKind("decisions", _l("Decisions"), {"discussion.comment"}),
        PhaseKind("plan_review", _l("Review of the draft plan"), {"discussion.comment"}),
    )
}


def add_feature(kind: str, feature: str) -> None:
    """Let phases of `kind` open `feature` (called by areas when they are registered)."""
    PHASE_KINDS[kind].features.add(feature)


# Areas that hang things on a phase (a ballot on a vote phase) say which changes would break
# them: each guard gets (phase, new kind, new start, new end), all None when the phase would be
# removed, and returns why not (translated) or None.
phase_guards: list = []


def add_phase_guard(guard) -> None:
    if guard not in phase_guards:
        phase_guards.append(guard)


def phase_allows(phase, feature: str) -> bool:
    return phase is not None and feature in PHASE_KINDS[phase.kind].features


@dataclass(frozen=True)
class TemplatePhase:
    kind: str
    days: int


@dataclass(frozen=True)
class ConsultationTemplate:
    key: str
    name_zh: str
    name_en: str
    phases: tuple[TemplatePhase, ...]
    # False for a consultation opened from elsewhere (the plan puts its draft to residents):
    # not offered when a planner starts a consultation.
    standalone: bool = True

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


def load_templates() -> dict[str, ConsultationTemplate]:
    """Read the editable templates file; unknown phase kinds are an error at start-up."""
    data = tomllib.loads(
        files("participation").joinpath("data/consultation-templates.toml").read_text("utf-8"))
    templates = {}
    for key, spec in data.items():
        phases = tuple(TemplatePhase(p["kind"], int(p["days"])) for p in spec["phases"])
        unknown = [p.kind for p in phases if p.kind not in PHASE_KINDS]
        if unknown:
            raise ValueError(f"template {key!r} names unknown phase kinds {unknown}")
        templates[key] = ConsultationTemplate(key, spec["name_zh"], spec["name_en"], phases,
                                              bool(spec.get("standalone", True)))
    return templates


TEMPLATES = load_templates()
