"""Pages of consultations: creating, the page with its timeline, editing, phases, the cover."""
from __future__ import annotations

from datetime import datetime, time

from flask import (
    Blueprint,
    abort,
    flash,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from participation import clock
from participation.communities.models import Community
from participation.errors import OperationError
from participation.extensions import db
from participation.i18n import select_locale, to_shown, to_stored, today_shown
from participation.pagecache import public_page
from participation.phases import PHASE_KINDS, TEMPLATES
from participation.policy import require
from participation.registries import (
    consultation_panels,
)
from participation.uploads import (
    ImageRejected,
    is_uploaded,
    save_images,
    send_image,
)
from participation.web import (
    field_error,
    form_status,
    parse_id,
    render,
    see_other,
)

from . import operations as ops
from .forms import MAX_PHASES, ConsultationEditForm, ConsultationForm, PhasesForm
from .models import Consultation

bp = Blueprint("consultations", __name__)


def consultation_or_404(community: Community, consultation_id: int) -> Consultation:
    consultation = db.session.scalar(
        select(Consultation).where(Consultation.id == consultation_id)
        .options(selectinload(Consultation.phases)))
    if consultation is None or consultation.community_id != community.id:
        abort(404)
    return consultation


def consultation_url(consultation: Consultation) -> str:
    return url_for("consultations.consultation", community_id=consultation.community_id,
                   consultation_id=consultation.id)


@bp.route("/c/<int:community_id>/consultations/new", methods=["GET", "POST"])
def new_consultation(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("consultation.manage", community)
    form = ConsultationForm()
    locale = select_locale()
    form.template.choices = [SelectChoice(key, t.name(locale)) for key, t in TEMPLATES.items()
                             if t.standalone]
    if request.method == "GET":
        form.starts_on.data = today_shown()
    if form.validate_on_submit():
        try:
            consultation = ops.create_consultation(
                current_user, community, template=form.template.data, title=form.title.data,
                description=form.description.data or "", sites=form.sites.data,
                starts_at=to_stored(datetime.combine(form.starts_on.data, time())),
                url_for_consultation=consultation_url)
        except OperationError as error:
            field_error(form.template, error)
        else:
            flash(_("Consultation created. Check its phases and dates."), "success")
            return see_other(url_for("consultations.edit_phases", community_id=community.id,
                                     consultation_id=consultation.id))
    return render("consultations/consultation_form.html", community=community, form=form,
                  templates=TEMPLATES, locale=locale)


@bp.get("/c/<int:community_id>/consultations/<int:consultation_id>")
@public_page
def consultation(community_id: int, consultation_id: int):
    community = db.get_or_404(Community, community_id)
    require("consultation.view", community)
    consultation = consultation_or_404(community, consultation_id)
    panels = [(panel.template, panel.load(consultation) if panel.load else {})
              for panel in consultation_panels]
    now = clock.now()
    return render("consultations/consultation.html", community=community,
                  consultation=consultation, panels=panels,
                  active=consultation.active_phase(now), state=consultation.state(now),
                  spec=TEMPLATES.get(consultation.template))


@bp.route("/c/<int:community_id>/consultations/<int:consultation_id>/edit",
          methods=["GET", "POST"])
def edit_consultation(community_id: int, consultation_id: int):
    community = db.get_or_404(Community, community_id)
    require("consultation.manage", community)
    consultation = consultation_or_404(community, consultation_id)
    form = ConsultationEditForm(obj=consultation)
    if form.validate_on_submit():
        cover = None if form.remove_cover.data else consultation.cover
        try:
            cover = save_images([form.cover.data], "covers")[0] if is_uploaded(
                form.cover.data) else cover
        except ImageRejected as error:
            form.cover.errors = [str(error)]
        else:
            ops.update_consultation(current_user, consultation, title=form.title.data,
                                    description=form.description.data or "",
                                    sites=form.sites.data, cover=cover)
            flash(_("Saved."), "success")
            return see_other(consultation_url(consultation))
    return render("consultations/consultation_edit.html", community=community,
                  consultation=consultation, form=form, status=form_status(form))


@bp.route("/c/<int:community_id>/consultations/<int:consultation_id>/phases",
          methods=["GET", "POST"])
def edit_phases(community_id: int, consultation_id: int):
    community = db.get_or_404(Community, community_id)
    require("consultation.manage", community)
    consultation = consultation_or_404(community, consultation_id)
    if request.method == "GET":
        rows = [{"phase_id": str(p.id), "kind": p.kind, "starts_at": to_shown(p.starts_at),
                 "ends_at": to_shown(p.ends_at)} for p in consultation.phases]
        spare = [{}] if len(rows) < MAX_PHASES else []
        form = PhasesForm(data={"phases": rows + spare})
    else:
        form = PhasesForm()
    kinds = [SelectChoice(key, kind.label) for key, kind in PHASE_KINDS.items()]
    for row in form.phases:
        row.kind.choices = kinds
    if form.validate_on_submit():
        phases = [(row.kind.data, to_stored(row.starts_at.data), to_stored(row.ends_at.data),
                   parse_id(row.phase_id.data))
                  for row in form.phases if not row.remove.data and row.starts_at.data]
        try:
            if len(phases) > MAX_PHASES:
                raise OperationError(_("A consultation has at most %(n)d phases.",
                                           n=MAX_PHASES))
            ops.set_phases(current_user, consultation, phases)
        except OperationError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            flash(_("Phases saved."), "success")
            return see_other(consultation_url(consultation))
    return render("consultations/phases.html", community=community, consultation=consultation,
                  form=form)


@bp.get("/c/<int:community_id>/consultations/<int:consultation_id>/cover")
def consultation_cover(community_id: int, consultation_id: int):
    community = db.get_or_404(Community, community_id)
    require("consultation.view", community)
    consultation = consultation_or_404(community, consultation_id)
    if not consultation.cover:
        abort(404)
    return send_image("covers", consultation.cover)


def community_consultations(community: Community) -> dict:
    """The consultations of a community's home, by state."""
    now = clock.now()
    consultations: dict[str, list[Consultation]] = {}
    for c in db.session.scalars(
            select(Consultation).where(Consultation.community_id == community.id)
            .options(selectinload(Consultation.phases))
            .order_by(Consultation.created_at.desc())):
        consultations.setdefault(c.state(now), []).append(c)
    return {"consultations": consultations, "now": now}
