"""Pages of communities: the list, a community's home, the roster, invite codes, members,
the audit log, and the platform admin's pages."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice

from participation.accounts.operations import find_user, format_reset_code, reset_in_person
from participation.audit import present
from participation.audit.models import AuditEvent
from participation.errors import OperationError
from participation.extensions import db, limiter
from participation.forms import EmptyForm
from participation.pagecache import public_page
from participation.policy import Role, can, membership_of, require
from participation.registries import community_sections
from participation.web import (
    external_url,
    field_error,
    paginate,
    public_address_is_local,
    render,
    safe_next,
    see_other,
)

from . import operations as ops
from .figures import figures
from .forms import (
    AssignRoleForm,
    CommunityForm,
    CommunitySettingsForm,
    IssueInvitesForm,
    RedeemForm,
    RevokeMemberForm,
    RosterConfirmForm,
    RosterUploadForm,
    VerifyMemberForm,
)
from .models import Community, Household, InviteBatch, Membership

bp = Blueprint("communities", __name__)


@bp.get("/")
def index():
    communities = db.session.scalars(select(Community).order_by(Community.name)).all()
    mine, revoked = {}, set()
    if current_user.is_authenticated:
        mine = {m.community_id: m for m in current_user.memberships if m.active}
        revoked = {m.community_id for m in current_user.memberships if not m.active}
    return render("communities/index.html", communities=communities, mine=mine,
                  revoked=revoked, form=EmptyForm())



@bp.post("/communities/<int:community_id>/join")
def join(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.join", community)
    if EmptyForm().validate_on_submit():
        try:
            ops.join_community(current_user, community)
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
            return see_other(url_for("communities.index"))
        flash(_("You have joined %(name)s. Redeem your household's invite code to vote.",
                name=community.name), "success")
    # Joined from a page of the community: back to what the new member was reading.
    home = url_for("communities.community", community_id=community.id)
    back = safe_next(request.form.get("next"), home)
    return see_other(back if back.startswith(f"/c/{community.id}/") else home)


@bp.post("/communities/<int:community_id>/switch")
def switch(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.switch", community)
    if EmptyForm().validate_on_submit():
        ops.switch_community(current_user, community)
    return see_other(url_for("communities.community", community_id=community.id))


@bp.get("/c/<int:community_id>")
@public_page
def community(community_id: int):
    community = db.get_or_404(Community, community_id)
    if current_user.is_authenticated and membership_of(current_user, community) is None:
        m = ops.membership(current_user, community)
        if m is not None and m.revoked_at is not None:
            return render("errors/error.html", status=403, code=403,
                          title=_("Membership revoked"),
                          message=_("The residents' committee revoked your membership of "
                                    "%(name)s: %(reason)s. Please contact them if this is a "
                                    "mistake.", name=community.name, reason=m.revoke_reason))
    require("community.view", community)
    counts, households = figures(community)
    sections = [(section.template, section.load(community)) for section in community_sections]
    return render("communities/community.html", community=community, counts=counts,
                  households=households, membership=membership_of(current_user, community),
                  sections=sections)


@bp.route("/redeem", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_ACCOUNT"], methods=["POST"],
               key_func=lambda: f"redeem:{current_user.get_id()}")
def redeem():
    require("account.use")
    form = RedeemForm()
    if form.validate_on_submit():
        try:
            m = ops.redeem_invite(current_user, form.code.data)
        except OperationError as error:
            field_error(form.code, error)
        else:
            flash(_("Welcome! You are now a verified resident of %(name)s.",
                    name=m.community.name), "success")
            return see_other(url_for("communities.community", community_id=m.community_id))
    return render("communities/redeem.html", "communities/_redeem_form.html", form=form)


@bp.route("/c/<int:community_id>/settings", methods=["GET", "POST"])
def settings(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.manage_settings", community)
    form = CommunitySettingsForm(obj=community)
    if form.validate_on_submit():
        ops.update_settings(current_user, community,
                            unverified_may_comment=bool(form.unverified_may_comment.data))
        flash(_("The community's settings are saved."), "success")
        return see_other(url_for("communities.settings", community_id=community.id))
    return render("communities/settings.html", community=community, form=form)


# --- households -------------------------------------------------------------------------------


@bp.get("/c/<int:community_id>/households")
def households(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.manage_households", community)
    page = paginate(
        select(Household).where(Household.community_id == community.id)
        .order_by(*Household.address_order())
    )
    return render("communities/households.html", community=community, page=page,
                  invites=ops.active_invite_counts(community))


@bp.route("/c/<int:community_id>/households/import", methods=["GET", "POST"])
def import_households(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.manage_households", community)
    form = RosterUploadForm()
    preview = None
    if form.validate_on_submit():
        text = _uploaded_text(form)
        if text is None:
            form.file.errors = [*form.file.errors,
                                _("Choose a CSV file or paste the roster.")]
        elif text is False:
            form.file.errors = [*form.file.errors,
                                _("The file could not be read as text (UTF-8 or GBK). In Excel, "
                                  "save it as “CSV UTF-8” or “CSV”.")]
        else:
            form.text.data = text
            preview = ops.parse_roster(community, text)
    # formdata=None: the confirm form carries the roster just read, not the (possibly empty)
    # text box of this request.
    confirm = RosterConfirmForm(formdata=None, text=form.text.data) if preview else None
    return render("communities/import.html", community=community, form=form, preview=preview,
                  confirm=confirm)


def _uploaded_text(form: RosterUploadForm) -> str | None | bool:
    upload = form.file.data
    if upload and getattr(upload, "filename", ""):
        data = upload.read()
        # Excel on Chinese Windows saves "CSV" in GBK; "CSV UTF-8" carries a BOM.
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
        return False
    return form.text.data or None


@bp.post("/c/<int:community_id>/households/import/confirm")
def confirm_import(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.manage_households", community)
    form = RosterConfirmForm()
    if not form.validate_on_submit():
        flash(_("The roster to import was missing. Check the file again."), "error")
        return see_other(url_for("communities.import_households", community_id=community.id))
    if form.text.data:
        try:
            result = ops.import_roster(current_user, community, form.text.data)
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
            upload = RosterUploadForm(formdata=None, text=form.text.data)
            return render("communities/import.html", community=community, form=upload,
                          preview=ops.parse_roster(community, form.text.data),
                          confirm=RosterConfirmForm(formdata=None, text=form.text.data))
        skipped = len(result.rows) - len(result.new_rows)
        message = ngettext("Imported %(num)d household.", "Imported %(num)d households.",
                           len(result.new_rows))
        if skipped:
            message += " " + ngettext("%(num)d was already in the roster.",
                                      "%(num)d were already in the roster.", skipped)
        flash(message, "success")
    return see_other(url_for("communities.households", community_id=community.id))


# --- invite codes -----------------------------------------------------------------------------


@bp.route("/c/<int:community_id>/invites", methods=["GET", "POST"])
def invites(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.issue_invites", community)
    buildings = db.session.scalars(
        select(Household.building).where(Household.community_id == community.id)
        .group_by(Household.building)
        .order_by(func.length(Household.building), Household.building)
    ).all()
    form = IssueInvitesForm()
    form.building.choices = [SelectChoice("", _("All buildings"))] + [
        SelectChoice(b) for b in buildings]
    if request.method == "GET":
        form.days.data = current_app.config["INVITE_CODE_DAYS"]
    if form.validate_on_submit():
        stmt = select(Household).where(Household.community_id == community.id)
        if form.building.data:
            stmt = stmt.where(Household.building == form.building.data)
        chosen = db.session.scalars(
            stmt.order_by(*Household.address_order())).all()
        if form.only_without_code.data:
            active = ops.active_invite_counts(community)
            chosen = [h for h in chosen if h.id not in active]
        if not chosen:
            form.building.errors = [_("No household needs a code with these choices.")]
        else:
            try:
                batch = ops.issue_invites(current_user, community, chosen, form.days.data)
            except OperationError as error:
                field_error(form.building, error)
            else:
                # A page of its own: reloading or reprinting it never issues codes again.
                return see_other(url_for("communities.invite_sheet", community_id=community.id,
                                         batch_id=batch.id))
    batches = db.session.scalars(
        select(InviteBatch).where(InviteBatch.community_id == community.id)
        .options(joinedload(InviteBatch.created_by))
        .order_by(InviteBatch.created_at.desc(), InviteBatch.id.desc()).limit(20)
    ).all()
    return render("communities/invites.html", community=community, form=form,
                  has_households=bool(buildings), batches=batches)


@bp.get("/c/<int:community_id>/invites/<int:batch_id>")
def invite_sheet(community_id: int, batch_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.issue_invites", community)
    batch = db.get_or_404(InviteBatch, batch_id)
    if batch.community_id != community.id:
        abort(404)
    sheet = ops.code_sheet(batch)
    response = render("communities/code_sheet.html", community=community, sheet=sheet,
                      local_address=public_address_is_local())
    # Codes in plain text: never kept by a browser or proxy cache.
    return response[0], response[1], {"Cache-Control": "no-store"}


# --- members ----------------------------------------------------------------------------------


@bp.get("/c/<int:community_id>/members")
def members(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.manage_members", community)
    page = paginate(
        select(Membership).where(Membership.community_id == community.id)
        .options(joinedload(Membership.user), joinedload(Membership.household))
        .order_by(Membership.revoked_at.is_not(None), Membership.created_at.desc())
    )
    return render("communities/members.html", community=community, page=page)


def member_or_404(community: Community, membership_id: int) -> Membership:
    m = db.get_or_404(Membership, membership_id)
    if m.community_id != community.id:
        abort(404)
    return m


@bp.route("/c/<int:community_id>/members/<int:membership_id>/verify", methods=["GET", "POST"])
def verify_member(community_id: int, membership_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.manage_members", community)
    m = member_or_404(community, membership_id)
    require("membership.manage", community, m)
    form = VerifyMemberForm()
    if form.validate_on_submit():
        household = ops.find_household(community, form.building.data, form.unit.data,
                                       form.room.data)
        if household is None:
            form.room.errors = [_("There is no such household in the roster.")]
        else:
            ops.verify_member(current_user, m, household)
            flash(_("%(name)s is now verified for household %(address)s.",
                    name=m.user.display_name, address=household.address), "success")
            return see_other(url_for("communities.members", community_id=community.id))
    return render("communities/verify.html", community=community, member=m, form=form)


@bp.route("/c/<int:community_id>/members/<int:membership_id>/revoke", methods=["GET", "POST"])
def revoke_member(community_id: int, membership_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.manage_members", community)
    m = member_or_404(community, membership_id)
    require("membership.manage", community, m)
    form = RevokeMemberForm()
    if form.validate_on_submit():
        ops.revoke_member(current_user, m, form.reason.data)
        flash(_("The membership of %(name)s has been revoked.", name=m.user.display_name),
              "success")
        return see_other(url_for("communities.members", community_id=community.id))
    return render("communities/revoke.html", community=community, member=m, form=form)


@bp.route("/c/<int:community_id>/members/<int:membership_id>/reset-password",
          methods=["GET", "POST"])
def reset_member_password(community_id: int, membership_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.manage_members", community)
    m = member_or_404(community, membership_id)
    require("membership.reset_password", community, m)
    form = EmptyForm()
    if form.validate_on_submit():
        code = reset_in_person(current_user, m.user, community)
        response = render("communities/reset_password_code.html", community=community, member=m,
                          code=format_reset_code(code),
                          link=external_url("accounts.reset_password", token=code),
                          hours=current_app.config["PASSWORD_RESET_HOURS"])
        # Shown once: never kept by a browser or proxy cache.
        return response[0], response[1], {"Cache-Control": "no-store"}
    return render("communities/reset_password.html", community=community, member=m, form=form)


@bp.get("/c/<int:community_id>/audit")
def audit(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("community.read_audit", community)
    page = paginate(
        select(AuditEvent).where(AuditEvent.community_id == community.id)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    return render("communities/audit.html", community=community, page=page,
                  entries=present(page.items))


# --- platform admin ---------------------------------------------------------------------------


@bp.get("/admin/communities")
def admin_communities():
    require("platform.manage_communities")
    page = paginate(select(Community).order_by(Community.name))
    return render("communities/admin_communities.html", page=page)


@bp.route("/admin/communities/new", methods=["GET", "POST"])
def admin_new_community():
    require("platform.manage_communities")
    form = CommunityForm()
    if form.validate_on_submit():
        try:
            community = ops.create_community(
                current_user, name=form.name.data, district=form.district.data,
                street=form.street.data, committee_name=form.committee_name.data,
                household_count=form.household_count.data)
        except OperationError as error:
            field_error(form.name, error)
        else:
            flash(_("Community %(name)s created.", name=community.name), "success")
            return see_other(url_for("communities.admin_community", community_id=community.id))
    return render("communities/admin_community_form.html", form=form)


@bp.route("/admin/communities/<int:community_id>", methods=["GET", "POST"])
def admin_community(community_id: int):
    community = db.get_or_404(Community, community_id)
    require("platform.manage_communities")
    form = AssignRoleForm()
    if form.validate_on_submit():
        user = find_user(form.login.data)
        if user is None:
            form.login.errors = [_("No user has this mobile number or e-mail. "
                                   "Ask them to register first.")]
        else:
            ops.assign_role(current_user, community, user, Role(form.role.data))
            flash(_("%(name)s now has the role %(role)s.", name=user.display_name,
                    role=role_label(form.role.data)), "success")
            return see_other(url_for("communities.admin_community", community_id=community.id))
    staff = db.session.scalars(
        select(Membership).where(
            Membership.community_id == community.id,
            Membership.role.in_([Role.PLANNER.value, Role.COMMITTEE.value, Role.MODERATOR.value]),
            Membership.revoked_at.is_(None))
        .options(joinedload(Membership.user)).order_by(Membership.role)
    ).all()
    return render("communities/admin_community.html", community=community, form=form, staff=staff)


@bp.route("/admin/communities/<int:community_id>/members/<int:membership_id>/remove-role",
          methods=["GET", "POST"])
def remove_role(community_id: int, membership_id: int):
    community = db.get_or_404(Community, community_id)
    require("platform.manage_communities")
    m = member_or_404(community, membership_id)
    back = url_for("communities.admin_community", community_id=community.id)
    if not can("membership.remove_role", community, m):
        flash(_("%(name)s has no role to remove.", name=m.user.display_name), "info")
        return see_other(back)
    form = EmptyForm()
    if form.validate_on_submit():
        role = m.role
        try:
            ops.remove_role(current_user, m)
        except OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            flash(_("%(name)s is no longer %(role)s.", name=m.user.display_name,
                    role=role_label(role)), "success")
        return see_other(back)
    return render("communities/remove_role.html", community=community, member=m, form=form)


@bp.app_template_global()
def role_label(role: str) -> str:
    return {
        "resident": _("Resident"),
        "verified": _("Verified resident"),
        "planner": _("Responsible planner"),
        "committee": _("Committee member"),
        "moderator": _("Moderator"),
    }.get(role, role)
