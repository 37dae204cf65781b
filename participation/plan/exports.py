"""The decision list of a plan's version as files: CSV (UTF-8 with a BOM, so that Excel reads
Chinese), XLSX (one sheet of projects, one of objections and answers, one of the committee
meeting) and JSON for open data (schema below). Each states the plan, its version and the
date, and holds what the version's page shows. Text that a spreadsheet would read as a formula
is neutralised."""
from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator

from flask_babel import gettext as _
from sqlalchemy import select

from participation.extensions import db

from .models import Objection, Plan, PlanDecision, PlanVersion

# Bumped when a field changes meaning or goes; new fields may be added within a version.
JSON_SCHEMA = "linli.plan-decision-list/1"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral(value) -> object:
    """A cell a spreadsheet shows as written: text starting like a formula gets a leading
    apostrophe ("=HYPERLINK(...)" stays text)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def outcome_label(outcome: str | None) -> str:
    return {"adopt": _("adopted"), "defer": _("deferred"), "reject": _("rejected"),
            None: _("not decided")}[outcome]


def _sources(project: dict) -> str:
    return "; ".join(f"{s['title']} ({s['detail']})" if s["detail"] else s["title"]
                     for s in project["sources"])


def header() -> list[str]:
    return [_("Rank"), _("Project"), _("Decision"), _("Votes for"), _("Votes against"),
            _("Abstentions"), _("Rationale"), _("Priority score"), _("Category"), _("Site"),
            _("Estimated cost"), _("Funding source"), _("Responsible party"), _("Timeline"),
            _("Sources")]


def project_rows(projects: list[dict], categories: dict[str, str]) -> Iterator[list]:
    for rank, p in enumerate(projects, 1):
        votes = p["votes"] or ["", "", ""]
        yield [rank, p["title"], outcome_label(p["outcome"]), *votes, p["rationale"],
               p["score"], categories.get(p["category"] or "", ""), p["site"] or "",
               p["cost"] or "", p["funding"], p["responsible"], p["timeline"], _sources(p)]


def heading(plan: Plan, version: PlanVersion) -> str:
    from flask_babel import format_datetime

    return _("%(plan)s, version %(n)d of %(date)s", plan=plan.title, n=version.number,
             date=format_datetime(version.created_at))


def csv_lines(title: str, projects: list[dict], categories: dict[str, str]) -> Iterator[str]:
    """The projects sheet as CSV, line by line (streamed after the request has let go of
    the database: it reads only what it is given)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row) -> str:
        writer.writerow([neutral(c) for c in row])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield "\ufeff" + line([title])
    yield line(header())
    for row in project_rows(projects, categories):
        yield line(row)


def xlsx_file(plan: Plan, version: PlanVersion, categories: dict[str, str]):
    """The three sheets in a temporary file (openpyxl's write-only mode keeps little in
    memory), rewound, for sending."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    projects = book.create_sheet(_("Projects"))
    projects.append([neutral(heading(plan, version))])
    projects.append(header())
    for row in project_rows(version.projects, categories):
        projects.append([neutral(c) for c in row])
    objections = book.create_sheet(_("Objections"))
    objections.append([_("Project"), _("Objection"), _("Filed on"), _("Answer"),
                       _("Answered on")])
    for o in db.session.scalars(select(Objection).where(
            Objection.plan_id == plan.id, Objection.version == version.number)
            .order_by(Objection.id)):
        objections.append([neutral(o.project_title), neutral(o.reason), o.created_at,
                           neutral(o.answer), o.answered_at])
    meeting = book.create_sheet(_("Committee meeting"))
    decision = db.session.get(PlanDecision, version.decision_id) if version.decision_id \
        else None
    if decision is not None:
        meeting.append([_("Held on"), decision.held_on])
        meeting.append([_("Members present"), f"{decision.present} / {decision.committee_size}"])
        meeting.append([_("Names"), neutral(decision.members_present)])
    else:
        meeting.append([neutral(version.change)])
    out = tempfile.TemporaryFile()
    book.save(out)
    out.seek(0)
    return out


def json_head(plan: Plan, version: PlanVersion) -> dict:
    noticed = plan.notice_version == version.number
    return {
        "schema": JSON_SCHEMA,
        "plan": {"id": plan.id, "title": plan.title, "community_id": plan.community_id},
        "version": {"number": version.number, "created_at": version.created_at.isoformat(),
                    "change": version.change},
        "notice": {"starts_at": plan.notice_starts_at.isoformat(),
                   "ends_at": plan.notice_ends_at.isoformat()} if noticed else None,
    }


def json_lines(head: dict, projects: list[dict], categories: dict[str, str]) -> Iterator[str]:
    """Open data, one project at a time (streamed after the request has let go of the
    database: it reads only what it is given): `json_head`'s {"schema", "plan": {id, title,
    community_id}, "version": {number, created_at, change}, "notice": {starts_at, ends_at} or
    null} and "projects": [{rank, id, title, description, decision, votes: {for, against,
    abstain} or null, rationale, score, category, category_name, item_id, site, cost, funding,
    responsible, timeline, sources: [{kind, title, detail, signal}]}]. Amounts and scores are
    decimal strings."""
    head = json.dumps(head, ensure_ascii=False)
    yield head[:-1] + ', "projects": ['
    for rank, p in enumerate(projects, 1):
        yield ("" if rank == 1 else ",") + "\n" + json.dumps({
            "rank": rank, "id": p["id"], "title": p["title"], "description": p["description"],
            "decision": p["outcome"],
            "votes": dict(zip(("for", "against", "abstain"), p["votes"], strict=True))
            if p["votes"] else None,
            "rationale": p["rationale"], "score": p["score"], "category": p["category"],
            "category_name": categories.get(p["category"] or ""), "item_id": p["item_id"],
            "site": p["site"], "cost": p["cost"], "funding": p["funding"],
            "responsible": p["responsible"], "timeline": p["timeline"],
            "sources": [{k: s[k] for k in ("kind", "title", "detail", "signal")}
                        for s in p["sources"]]}, ensure_ascii=False)
    yield "\n]}\n"


def district_header() -> list[str]:
    return [_("Community"), _("District"), _("Street"), _("Checklist completeness, %"),
            _("Items checked"), _("Open consultations"), _("Plan"), _("Plan status"),
            _("Adopted projects"), _("Progress, %")]


def district_row(row, states: dict) -> list:
    c = row.community
    return [neutral(c.name), neutral(c.district), neutral(c.street), float(row.completeness),
            row.checked, row.open_consultations, neutral(row.plan.title) if row.plan else "",
            str(states[row.plan_state]), row.adopted, row.progress]


def district_xlsx(title: str, rows, gaps, item_names: dict[str, str], states: dict):
    """The district's figures as the page shows them, one sheet of communities and one of the
    most common gaps, in a temporary file, rewound."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Communities"))
    sheet.append([neutral(title)])
    sheet.append(district_header())
    for row in rows:
        sheet.append(district_row(row, states))
    common = book.create_sheet(_("Most common gaps"))
    common.append([_("Checklist item"), _("Communities"), _("Missing"), _("Insufficient")])
    for gap in gaps:
        common.append([neutral(item_names.get(gap.item_id, gap.item_id)), gap.communities,
                       gap.missing, gap.insufficient])
    out = tempfile.TemporaryFile()
    book.save(out)
    out.seek(0)
    return out
