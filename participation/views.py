"""Pages of the core: accounts, preferences, communities, roster, invites, members, audit, admin."""
from __future__ import annotations

from datetime import datetime, time

import flask_babel
from flask import (
    Blueprint,
    g,
    abort,
    current_app,
    flash,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import SelectChoice

from . import clock
from . import operations as ops
from .extensions import db, htmx, limiter
from .i18n import select_locale
from .forms import (
    MAX_PHASES,
    AnswerForm,
    CommentForm,
    ConsultationEditForm,
    ConsultationForm,
    EditCommentForm,
    MeetingForm,
    PhasesForm,
    ReasonForm,
    TopicForm,
    AssignRoleForm,
    ChangePasswordForm,
    CommunityForm,
    DisplayForm,
    EmptyForm,
    ForgotPasswordForm,
    IssueInvitesForm,
    LanguageForm,
    LoginForm,
    RedeemForm,
    RegisterForm,
    ResetPasswordForm,
    RevokeMemberForm,
    RosterConfirmForm,
    RosterUploadForm,
    VerifyMemberForm,
)
from .models import (
    AgendaItem,
    AuditEvent,
    Comment,
    CommentVote,
    Community,
    Consultation,
    Household,
    InviteBatch,
    Meeting,
    Membership,
    Notification,
    Report,
    Role,
    Topic,
    User,
)
from . import notifications as notifications_registry
from .areas import agenda_links, consultation_panels
from .phases import PHASE_KINDS, TEMPLATES
from .policy import can, membership_of, require
from .security import verify_password
from .uploads import ImageRejected, save_image, send_image
from .web import (
    external_url,
    paginate,
    parse_id,
    parse_ids,
    render,
    safe_next,
    see_other,
)

bp = Blueprint("core", __name__)


def _account_key() -> str:
    """Rate-limit key for the account a login or reset names (normalised, so variants count once)."""
    kind, value = ops.normalise_login(request.form.get("login", ""))
    return f"account:{kind}:{value}"


def _failed(response) -> bool:
    """Only failed attempts count toward login limits: a resident who logs in successfully
    several times (a workshop, a shared community-centre computer) is never locked out."""
    return response.status_code != 303


def _fail(form_field, error: ops.OperationError) -> None:
    db.session.rollback()
    form_field.errors = [*form_field.errors, str(error)]


# --- home -------------------------------------------------------------------------------------


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/")
def index():
    communities = db.session.scalars(select(Community).order_by(Community.name)).all()
    mine, revoked = {}, set()
    if current_user.is_authenticated:
        mine = {m.community_id: m for m in current_user.memberships if m.active}
        revoked = {m.community_id for m in current_user.memberships if not m.active}
    return render("participation/index.html", communities=communities, mine=mine,
                  revoked=revoked, form=EmptyForm())


# --- accounts ---------------------------------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_REGISTER"], methods=["POST"])
def register():
    if current_user.is_authenticated:
        return see_other(url_for("core.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = ops.register_user(form.display_name.data, form.login.data, form.password.data,
                                     locale=select_locale(),
                                     large_text=bool(session.get("large_text")))
        except ops.OperationError as error:
            _fail(form.login, error)
        else:
            ops.start_session(user)
            flash(_("Welcome, %(name)s! Join your community with the invite code from your "
                    "residents' committee.", name=user.display_name), "success")
            return see_other(url_for("core.redeem"))
    return render("participation/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"],
               deduct_when=_failed)
@limiter.limit(lambda: current_app.config["RATELIMIT_ACCOUNT"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = ops.authenticate(form.login.data, form.password.data)
        if user is None:
            form.password.errors = [_("The account or password is not correct.")]
        else:
            ops.start_session(user)
            home = (url_for("core.community", community_id=user.current_community_id)
                    if user.current_community_id else url_for("core.index"))
            return see_other(safe_next(form.next.data, home))
    return render("participation/login.html", form=form)


@bp.post("/logout")
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        ops.end_session()
        flash(_("You have logged out."), "info")
    return see_other(url_for("core.index"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_ACCOUNT"], methods=["POST"],
               key_func=_account_key)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        ops.request_password_reset(
            form.login.data, lambda token: external_url("core.reset_password", token=token))
        flash(ngettext(
            "If an account with this e-mail address exists, a link to reset its password is on "
            "its way; it is valid for %(num)d hour. Registered with a mobile number? Ask the "
            "residents' committee for help.",
            "If an account with this e-mail address exists, a link to reset its password is on "
            "its way; it is valid for %(num)d hours. Registered with a mobile number? Ask the "
            "residents' committee for help.",
            current_app.config["PASSWORD_RESET_HOURS"]), "info")
        return see_other(url_for("core.login"))
    return render("participation/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def reset_password(token: str):
    form = ResetPasswordForm()
    if ops.reset_token_user(token) is None:
        return render("participation/reset_password.html", form=None, status=404)
    if form.validate_on_submit():
        try:
            ops.reset_password(token, form.password.data)
        except ops.OperationError as error:
            _fail(form.password, error)
        else:
            flash(_("Your password has been changed. Please log in with the new password."),
                  "success")
            return see_other(url_for("core.login"))
    return render("participation/reset_password.html", form=form)


@bp.get("/account")
def account():
    require("account.use")
    return render("participation/account.html", form=ChangePasswordForm())


@bp.post("/account/password")
@limiter.limit(lambda: current_app.config["RATELIMIT_ACCOUNT"],
               key_func=lambda: f"password:{current_user.get_id()}")
def change_password():
    require("account.use")
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current.data):
            form.current.errors = [_("The current password is not correct.")]
        else:
            # The real object: login_user() must not store the current_user proxy itself.
            ops.change_password(current_user._get_current_object(), form.password.data)
            flash(_("Your password has been changed. Other devices have been signed out."),
                  "success")
            return see_other(url_for("core.account"))
    return render("participation/account.html", form=form)


# --- preferences ------------------------------------------------------------------------------


@bp.post("/language")
def set_language():
    form = LanguageForm()
    target = safe_next(form.next.data, url_for("core.index"))
    if form.validate_on_submit():
        try:
            ops.update_preferences(_signed_in(), locale=form.locale.data)
        except ops.OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
    return see_other(target)


@bp.post("/display")
def set_display():
    form = DisplayForm()
    target = safe_next(form.next.data, url_for("core.index"))
    if form.validate_on_submit():
        ops.update_preferences(_signed_in(), large_text=form.large_text.data == "on")
    return see_other(target)


def _signed_in() -> User | None:
    return current_user if current_user.is_authenticated else None


# --- communities ------------------------------------------------------------------------------


def _community(community_id: int) -> Community:
    return db.get_or_404(Community, community_id)


@bp.post("/communities/<int:community_id>/join")
def join(community_id: int):
    community = _community(community_id)
    require("community.join", community)
    if EmptyForm().validate_on_submit():
        try:
            ops.join_community(current_user, community)
        except ops.OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
            return see_other(url_for("core.index"))
        flash(_("You have joined %(name)s. Redeem your household's invite code to vote.",
                name=community.name), "success")
    return see_other(url_for("core.community", community_id=community.id))


@bp.post("/communities/<int:community_id>/switch")
def switch(community_id: int):
    community = _community(community_id)
    require("community.view", community)
    if EmptyForm().validate_on_submit():
        ops.switch_community(current_user, community)
    return see_other(url_for("core.community", community_id=community.id))


@bp.get("/c/<int:community_id>")
def community(community_id: int):
    community = _community(community_id)
    if current_user.is_authenticated and not can("community.view", community):
        m = ops.membership(current_user, community)
        if m is not None and m.revoked_at is not None:
            return render("errors/error.html", status=403, code=403,
                          title=_("Membership revoked"),
                          message=_("The residents' committee revoked your membership of "
                                    "%(name)s: %(reason)s. Please contact them if this is a "
                                    "mistake.", name=community.name, reason=m.revoke_reason))
    require("community.view", community)
    counts = dict(db.session.execute(
        select(Membership.role, func.count())
        .where(Membership.community_id == community.id, Membership.revoked_at.is_(None))
        .group_by(Membership.role)
    ).all())
    households = db.session.scalar(
        select(func.count()).select_from(Household).where(Household.community_id == community.id)
    )
    now = clock.now()
    consultations: dict[str, list[Consultation]] = {}
    for c in db.session.scalars(
            select(Consultation).where(Consultation.community_id == community.id)
            .options(selectinload(Consultation.phases))
            .order_by(Consultation.created_at.desc())):
        consultations.setdefault(c.state(now), []).append(c)
    return render("participation/community.html", community=community, counts=counts,
                  households=households, membership=membership_of(current_user, community),
                  consultations=consultations, now=now)


@bp.route("/redeem", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_ACCOUNT"], methods=["POST"],
               key_func=lambda: f"redeem:{current_user.get_id()}")
def redeem():
    require("account.use")
    form = RedeemForm()
    if form.validate_on_submit():
        try:
            m = ops.redeem_invite(current_user, form.code.data)
        except ops.OperationError as error:
            _fail(form.code, error)
        else:
            flash(_("Welcome! You are now a verified resident of %(name)s.",
                    name=m.community.name), "success")
            return see_other(url_for("core.community", community_id=m.community_id))
    return render("participation/redeem.html", "participation/_redeem_form.html", form=form)


# --- households -------------------------------------------------------------------------------


@bp.get("/c/<int:community_id>/households")
def households(community_id: int):
    community = _community(community_id)
    require("community.manage_households", community)
    page = paginate(
        select(Household).where(Household.community_id == community.id)
        .order_by(*Household.address_order())
    )
    return render("participation/households.html", community=community, page=page,
                  invites=ops.active_invite_counts(community))


@bp.route("/c/<int:community_id>/households/import", methods=["GET", "POST"])
def import_households(community_id: int):
    community = _community(community_id)
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
    return render("participation/import.html", community=community, form=form, preview=preview,
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
    community = _community(community_id)
    require("community.manage_households", community)
    form = RosterConfirmForm()
    if not form.validate_on_submit():
        flash(_("The roster to import was missing. Check the file again."), "error")
        return see_other(url_for("core.import_households", community_id=community.id))
    if form.text.data:
        try:
            result = ops.import_roster(current_user, community, form.text.data)
        except ops.OperationError as error:
            db.session.rollback()
            flash(str(error), "error")
            upload = RosterUploadForm(formdata=None, text=form.text.data)
            return render("participation/import.html", community=community, form=upload,
                          preview=ops.parse_roster(community, form.text.data),
                          confirm=RosterConfirmForm(formdata=None, text=form.text.data))
        skipped = len(result.rows) - len(result.new_rows)
        message = ngettext("Imported %(num)d household.", "Imported %(num)d households.",
                           len(result.new_rows))
        if skipped:
            message += " " + ngettext("%(num)d was already in the roster.",
                                      "%(num)d were already in the roster.", skipped)
        flash(message, "success")
    return see_other(url_for("core.households", community_id=community.id))


# --- invite codes -----------------------------------------------------------------------------


@bp.route("/c/<int:community_id>/invites", methods=["GET", "POST"])
def invites(community_id: int):
    community = _community(community_id)
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
            except ops.OperationError as error:
                _fail(form.building, error)
            else:
                # A page of its own: reloading or reprinting it never issues codes again.
                return see_other(url_for("core.invite_sheet", community_id=community.id,
                                         batch_id=batch.id))
    batches = db.session.scalars(
        select(InviteBatch).where(InviteBatch.community_id == community.id)
        .options(joinedload(InviteBatch.created_by))
        .order_by(InviteBatch.created_at.desc(), InviteBatch.id.desc()).limit(20)
    ).all()
    return render("participation/invites.html", community=community, form=form,
                  has_households=bool(buildings), batches=batches)


@bp.get("/c/<int:community_id>/invites/<int:batch_id>")
def invite_sheet(community_id: int, batch_id: int):
    community = _community(community_id)
    require("community.issue_invites", community)
    batch = db.get_or_404(InviteBatch, batch_id)
    if batch.community_id != community.id:
        abort(404)
    sheet = ops.code_sheet(batch)
    response = render("participation/code_sheet.html", community=community, sheet=sheet)
    # Codes in plain text: never kept by a browser or proxy cache.
    return response[0], response[1], {"Cache-Control": "no-store"}


# --- members ----------------------------------------------------------------------------------


@bp.get("/c/<int:community_id>/members")
def members(community_id: int):
    community = _community(community_id)
    require("community.manage_members", community)
    page = paginate(
        select(Membership).where(Membership.community_id == community.id)
        .options(joinedload(Membership.user), joinedload(Membership.household))
        .order_by(Membership.revoked_at.is_not(None), Membership.created_at.desc())
    )
    return render("participation/members.html", community=community, page=page)


def _member(community: Community, membership_id: int) -> Membership:
    m = db.get_or_404(Membership, membership_id)
    if m.community_id != community.id:
        abort(404)
    return m


@bp.route("/c/<int:community_id>/members/<int:membership_id>/verify", methods=["GET", "POST"])
def verify_member(community_id: int, membership_id: int):
    community = _community(community_id)
    require("community.manage_members", community)
    m = _member(community, membership_id)
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
            return see_other(url_for("core.members", community_id=community.id))
    return render("participation/verify.html", community=community, member=m, form=form)


@bp.route("/c/<int:community_id>/members/<int:membership_id>/revoke", methods=["GET", "POST"])
def revoke_member(community_id: int, membership_id: int):
    community = _community(community_id)
    require("community.manage_members", community)
    m = _member(community, membership_id)
    require("membership.manage", community, m)
    form = RevokeMemberForm()
    if form.validate_on_submit():
        ops.revoke_member(current_user, m, form.reason.data)
        flash(_("The membership of %(name)s has been revoked.", name=m.user.display_name),
              "success")
        return see_other(url_for("core.members", community_id=community.id))
    return render("participation/revoke.html", community=community, member=m, form=form)


@bp.get("/c/<int:community_id>/audit")
def audit(community_id: int):
    community = _community(community_id)
    require("community.read_audit", community)
    page = paginate(
        select(AuditEvent).where(AuditEvent.community_id == community.id)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    return render("participation/audit.html", community=community, page=page)


# --- platform admin ---------------------------------------------------------------------------


@bp.get("/admin/communities")
def admin_communities():
    require("platform.manage_communities")
    page = paginate(select(Community).order_by(Community.name))
    return render("admin/communities.html", page=page)


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
        except ops.OperationError as error:
            _fail(form.name, error)
        else:
            flash(_("Community %(name)s created.", name=community.name), "success")
            return see_other(url_for("core.admin_community", community_id=community.id))
    return render("admin/community_form.html", form=form)


@bp.route("/admin/communities/<int:community_id>", methods=["GET", "POST"])
def admin_community(community_id: int):
    community = _community(community_id)
    require("platform.manage_communities")
    form = AssignRoleForm()
    if form.validate_on_submit():
        user = ops.find_user(form.login.data)
        if user is None:
            form.login.errors = [_("No user has this mobile number or e-mail. "
                                   "Ask them to register first.")]
        else:
            ops.assign_role(current_user, community, user, Role(form.role.data))
            flash(_("%(name)s now has the role %(role)s.", name=user.display_name,
                    role=role_label(form.role.data)), "success")
            return see_other(url_for("core.admin_community", community_id=community.id))
    staff = db.session.scalars(
        select(Membership).where(
            Membership.community_id == community.id,
            Membership.role.in_([Role.PLANNER.value, Role.COMMITTEE.value, Role.MODERATOR.value]),
            Membership.revoked_at.is_(None))
        .options(joinedload(Membership.user)).order_by(Membership.role)
    ).all()
    return render("admin/community.html", community=community, form=form, staff=staff)


def phase_label(kind: str) -> str:
    return str(PHASE_KINDS[kind].label) if kind in PHASE_KINDS else kind


def state_label(state: str) -> str:
    return {"upcoming": _("Upcoming"), "open": _("Open"), "closed": _("Closed")}[state]


def stance_label(stance: str) -> str:
    return {"support": _("Support"), "oppose": _("Oppose"), "neutral": _("Neutral")}.get(
        stance, stance)


def notification_text(n: Notification) -> str:
    return notifications_registry.text(n.kind, n.params)


def role_label(role: str) -> str:
    return {
        "resident": _("Resident"),
        "verified": _("Verified resident"),
        "planner": _("Responsible planner"),
        "committee": _("Committee member"),
        "moderator": _("Moderator"),
    }.get(role, role)


def audit_label(action: str) -> str:
    return {
        "user.register": _("Registered"),
        "user.password_changed": _("Changed password"),
        "user.password_reset_requested": _("Asked for a password reset"),
        "community.create": _("Created the community"),
        "membership.assign_role": _("Assigned a role"),
        "membership.join": _("Joined the community"),
        "membership.verify": _("Verified a resident in person"),
        "membership.revoke": _("Revoked a membership"),
        "household.import": _("Imported households"),
        "invite.issue": _("Issued invite codes"),
        "invite.redeem": _("Redeemed an invite code"),
        "user.made_admin": _("Made a platform admin"),
        "consultation.create": _("Created a consultation"),
        "consultation.edit": _("Edited a consultation"),
        "consultation.phases": _("Changed the phases of a consultation"),
        "comment.answer": _("Posted an official answer"),
        "comment.pin": _("Pinned a comment"),
        "comment.unpin": _("Unpinned a comment"),
        "comment.delete": _("Deleted someone's comment"),
        "content.report": _("Reported content"),
        "topic.hide": _("Hid a topic"),
        "topic.restore": _("Restored a topic"),
        "comment.hide": _("Hid a comment"),
        "comment.restore": _("Restored a comment"),
        "membership.block": _("Blocked a member from posting"),
        "membership.unblock": _("Let a member post again"),
        "meeting.save": _("Saved a meeting record"),
    }.get(action, action)


def audit_details(details: dict | None) -> list[tuple[str, str]]:
    """An audit event's details as translated (label, value) pairs."""
    labels = {
        "member": _("Member"),
        "household": _("Household"),
        "households": _("Households"),
        "role": _("Role"),
        "reason": _("Reason"),
        "method": _("How"),
        "days": _("Valid for (days)"),
        "added": _("Added"),
        "skipped": _("Already in the roster"),
        "title": _("Title"),
        "phases": _("Phases"),
        "via": _("Via"),
    }
    values = {"in_person": _("in person"), "console": _("the server console")}
    pairs = []
    for key, value in (details or {}).items():
        if key == "role":
            value = role_label(value)
        pairs.append((labels.get(key, key), values.get(value, value)
                      if isinstance(value, str) else str(value)))
    return pairs


@bp.app_context_processor
def _core_context():
    unread = 0
    if current_user.is_authenticated:
        unread = db.session.scalar(
            select(func.count()).select_from(Notification)
            .where(Notification.user_id == current_user.id, Notification.read_at.is_(None)))
    return {"can": can, "role_label": role_label, "audit_label": audit_label,
            "audit_details": audit_details, "external_url": external_url,
            "phase_label": phase_label, "state_label": state_label,
            "stance_label": stance_label, "notification_text": notification_text,
            "unread_notifications": unread}


# --- consultations ----------------------------------------------------------------------------


def _consultation(community: Community, consultation_id: int) -> Consultation:
    consultation = db.session.scalar(
        select(Consultation).where(Consultation.id == consultation_id)
        .options(selectinload(Consultation.phases)))
    if consultation is None or consultation.community_id != community.id:
        abort(404)
    return consultation


def consultation_url(consultation: Consultation) -> str:
    return url_for("core.consultation", community_id=consultation.community_id,
                   consultation_id=consultation.id)


def _local(dt):
    """A time typed in the community's timezone, as stored (naive UTC)."""
    return flask_babel.to_utc(dt).replace(tzinfo=None)


def _shown(dt):
    return flask_babel.to_user_timezone(dt).replace(tzinfo=None)


@bp.route("/c/<int:community_id>/consultations/new", methods=["GET", "POST"])
def new_consultation(community_id: int):
    community = _community(community_id)
    require("consultation.manage", community)
    form = ConsultationForm()
    locale = select_locale()
    form.template.choices = [SelectChoice(key, t.name(locale)) for key, t in TEMPLATES.items()]
    if request.method == "GET":
        form.starts_on.data = _shown(clock.now()).date()
    if form.validate_on_submit():
        try:
            consultation = ops.create_consultation(
                current_user, community, template=form.template.data, title=form.title.data,
                description=form.description.data or "", sites=form.sites.data,
                starts_at=_local(datetime.combine(form.starts_on.data, time())),
                url_for_consultation=consultation_url)
        except ops.OperationError as error:
            _fail(form.template, error)
        else:
            flash(_("Consultation created. Check its phases and dates."), "success")
            return see_other(url_for("core.edit_phases", community_id=community.id,
                                     consultation_id=consultation.id))
    return render("participation/consultation_form.html", community=community, form=form,
                  templates=TEMPLATES, locale=locale)


@bp.get("/c/<int:community_id>/consultations/<int:consultation_id>")
def consultation(community_id: int, consultation_id: int):
    community = _community(community_id)
    require("consultation.view", community)
    consultation = _consultation(community, consultation_id)
    topics = db.session.execute(
        select(Topic, func.count(Comment.id))
        .outerjoin(Comment, (Comment.topic_id == Topic.id) & Comment.deleted_at.is_(None)
                   & Comment.hidden_at.is_(None))
        .where(Topic.consultation_id == consultation.id, Topic.hidden_at.is_(None))
        .group_by(Topic.id).order_by(Topic.created_at.desc())
        .options(joinedload(Topic.author))
    ).all()
    latest = db.session.scalars(
        select(Comment).join(Topic)
        .where(Topic.consultation_id == consultation.id, Comment.deleted_at.is_(None),
               Comment.hidden_at.is_(None), Topic.hidden_at.is_(None))
        .options(joinedload(Comment.author), joinedload(Comment.topic))
        .order_by(Comment.created_at.desc(), Comment.id.desc()).limit(5)
    ).all()
    now = clock.now()
    return render("participation/consultation.html", community=community,
                  consultation=consultation, topics=topics, latest=latest,
                  consultation_panels=consultation_panels,
                  active=consultation.active_phase(now), state=consultation.state(now),
                  spec=TEMPLATES.get(consultation.template))


@bp.route("/c/<int:community_id>/consultations/<int:consultation_id>/edit",
          methods=["GET", "POST"])
def edit_consultation(community_id: int, consultation_id: int):
    community = _community(community_id)
    require("consultation.manage", community)
    consultation = _consultation(community, consultation_id)
    form = ConsultationEditForm(obj=consultation)
    if form.validate_on_submit():
        cover = None if form.remove_cover.data else consultation.cover
        try:
            cover = _saved_images([form.cover.data], "covers")[0] if _uploaded(
                form.cover.data) else cover
        except ImageRejected as error:
            form.cover.errors = [str(error)]
        else:
            ops.update_consultation(current_user, consultation, title=form.title.data,
                                    description=form.description.data or "",
                                    sites=form.sites.data, cover=cover)
            flash(_("Saved."), "success")
            return see_other(consultation_url(consultation))
    return render("participation/consultation_edit.html", community=community,
                  consultation=consultation, form=form)


@bp.route("/c/<int:community_id>/consultations/<int:consultation_id>/phases",
          methods=["GET", "POST"])
def edit_phases(community_id: int, consultation_id: int):
    community = _community(community_id)
    require("consultation.manage", community)
    consultation = _consultation(community, consultation_id)
    if request.method == "GET":
        rows = [{"phase_id": str(p.id), "kind": p.kind, "starts_at": _shown(p.starts_at),
                 "ends_at": _shown(p.ends_at)} for p in consultation.phases]
        spare = [{}] if len(rows) < MAX_PHASES else []
        form = PhasesForm(data={"phases": rows + spare})
    else:
        form = PhasesForm()
    kinds = [SelectChoice(key, kind.label) for key, kind in PHASE_KINDS.items()]
    for row in form.phases:
        row.kind.choices = kinds
    if form.validate_on_submit():
        phases = [(row.kind.data, _local(row.starts_at.data), _local(row.ends_at.data),
                   parse_id(row.phase_id.data))
                  for row in form.phases if not row.remove.data and row.starts_at.data]
        try:
            if len(phases) > MAX_PHASES:
                raise ops.OperationError(_("A consultation has at most %(n)d phases.",
                                           n=MAX_PHASES))
            ops.set_phases(current_user, consultation, phases)
        except ops.OperationError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            flash(_("Phases saved."), "success")
            return see_other(consultation_url(consultation))
    return render("participation/phases.html", community=community, consultation=consultation,
                  form=form)


def _uploaded(file) -> bool:
    return bool(file and getattr(file, "filename", ""))


def _saved_images(files, folder: str) -> list[str]:
    """Re-encode each uploaded image; raises ImageRejected for the first that is no image."""
    return [save_image(f.stream, folder) for f in files if _uploaded(f)]


@bp.get("/c/<int:community_id>/consultations/<int:consultation_id>/cover")
def consultation_cover(community_id: int, consultation_id: int):
    community = _community(community_id)
    require("consultation.view", community)
    consultation = _consultation(community, consultation_id)
    if not consultation.cover:
        abort(404)
    return send_image("covers", consultation.cover)


# --- discussions ------------------------------------------------------------------------------


def _topic(community: Community, topic_id: int) -> Topic:
    topic = db.session.scalar(
        select(Topic).where(Topic.id == topic_id)
        .options(joinedload(Topic.consultation).selectinload(Consultation.phases),
                 joinedload(Topic.author)))
    if topic is None or topic.consultation.community_id != community.id:
        abort(404)
    return topic


def _comment_in(community: Community, comment_id: int) -> Comment:
    comment = db.session.scalar(
        select(Comment).where(Comment.id == comment_id)
        .options(joinedload(Comment.topic).joinedload(Topic.consultation)
                 .selectinload(Consultation.phases)))
    if comment is None or comment.topic.consultation.community_id != community.id:
        abort(404)
    return comment


def comment_url(comment: Comment) -> str:
    community_id = comment.topic.consultation.community_id
    return url_for("core.topic", community_id=community_id, topic_id=comment.topic_id,
                   _anchor=f"comment-{comment.id}")


def topic_url(topic: Topic) -> str:
    return url_for("core.topic", community_id=topic.consultation.community_id, topic_id=topic.id)


@bp.route("/c/<int:community_id>/consultations/<int:consultation_id>/topics/new",
          methods=["GET", "POST"])
def new_topic(community_id: int, consultation_id: int):
    community = _community(community_id)
    require("consultation.view", community)
    consultation = _consultation(community, consultation_id)
    require("discussion.open_topic", community, consultation)
    form = TopicForm()
    if form.validate_on_submit():
        topic = ops.open_topic(current_user, consultation, form.title.data, form.body.data or "")
        return see_other(url_for("core.topic", community_id=community.id, topic_id=topic.id))
    return render("participation/topic_form.html", community=community,
                  consultation=consultation, form=form)


def _thread_page(topic: Topic, thread: int | None = None):
    """One page of threads with everything the template reads, in a fixed number of queries.

    Each thread shows its first replies; a long one links to a page of its own (`thread`)."""
    stmt = select(Comment).where(Comment.topic_id == topic.id, Comment.parent_id.is_(None))
    if thread is not None:
        stmt = stmt.where(Comment.id == thread)
    roots = paginate(
        stmt.options(joinedload(Comment.author))
        .order_by(Comment.pinned.desc(), Comment.is_official.desc(), Comment.created_at,
                  Comment.id),
        per_page=current_app.config["COMMENTS_PER_PAGE"])
    root_ids = [c.id for c in roots.items]
    limit = current_app.config["THREAD_REPLIES_MAX" if thread else "REPLIES_PER_THREAD"]
    # Replies come in time order, so a parent always ranks before its replies and a cut-off
    # never keeps a reply without the comment it answers.
    ranked = select(Comment.id, func.row_number().over(
        partition_by=Comment.root_id, order_by=(Comment.created_at, Comment.id)).label("n")
    ).where(Comment.root_id.in_(root_ids)).subquery()
    replies = db.session.scalars(
        select(Comment).join(ranked, ranked.c.id == Comment.id).where(ranked.c.n <= limit)
        .options(joinedload(Comment.author)).order_by(Comment.created_at, Comment.id)
    ).all() if root_ids else []
    totals = dict(db.session.execute(
        select(Comment.root_id, func.count()).where(Comment.root_id.in_(root_ids))
        .group_by(Comment.root_id)).all()) if root_ids else {}
    children: dict[int, list[Comment]] = {}
    shown: dict[int, int] = {}
    for reply in replies:
        children.setdefault(reply.parent_id, []).append(reply)
        shown[reply.root_id] = shown.get(reply.root_id, 0) + 1
    g.more_replies = {root: total - shown.get(root, 0) for root, total in totals.items()
                      if total > shown.get(root, 0)}
    ids = root_ids + [r.id for r in replies]
    votes = dict(db.session.execute(
        select(CommentVote.comment_id, func.count()).where(CommentVote.comment_id.in_(ids))
        .group_by(CommentVote.comment_id)).all()) if ids else {}
    mine = set(db.session.scalars(
        select(CommentVote.comment_id).where(CommentVote.comment_id.in_(ids),
                                             CommentVote.user_id == current_user.id)
    )) if ids else set()
    return roots, children, votes, mine, _stance_counts(topic)


def _stance_counts(topic: Topic) -> dict[str, int]:
    return dict(db.session.execute(
        select(Comment.stance, func.count()).where(
            Comment.topic_id == topic.id, Comment.stance.is_not(None),
            Comment.deleted_at.is_(None), Comment.hidden_at.is_(None))
        .group_by(Comment.stance)).all())


@bp.get("/c/<int:community_id>/topics/<int:topic_id>")
def topic(community_id: int, topic_id: int):
    community = _community(community_id)
    require("consultation.view", community)
    topic = _topic(community, topic_id)
    if topic.hidden_at and topic.author_id != current_user.id and not can(
            "moderation.manage", community):
        # Links to it (notifications, meeting agendas) still lead somewhere that explains.
        return render("participation/topic_hidden.html", community=community, topic=topic)
    thread = parse_id(request.args.get("thread"))
    roots, children, votes, mine, stances = _thread_page(topic, thread)
    return render("participation/topic.html", community=community, topic=topic, roots=roots,
                  children=children, votes=votes, mine=mine, stances=stances,
                  form=CommentForm(), answer_form=AnswerForm(),
                  reply_form=CommentForm(formdata=None),
                  membership=membership_of(current_user, community), thread=thread)


@bp.post("/c/<int:community_id>/topics/<int:topic_id>/comments")
def post_comment(community_id: int, topic_id: int):
    community = _community(community_id)
    require("consultation.view", community)
    topic = _topic(community, topic_id)
    require("discussion.comment", community, topic)
    form = CommentForm()
    parent = None
    if form.parent_id.data:
        parent_id = parse_id(form.parent_id.data)
        parent = _comment_in(community, parent_id) if parent_id else abort(404)
    if form.validate_on_submit():
        try:
            comment = ops.post_comment(current_user, topic, form.body.data,
                                       form.stance.data if parent is None else None,
                                       parent, comment_url)
        except ops.OperationError as error:
            _fail(form.body, error)
        else:
            if htmx:
                # The new comment, plus a fresh, empty copy of the form that sent it (swapped
                # out of band), so the resident can write the next one.
                return render("participation/_comment_posted.html", comment=comment,
                              parent=parent, children={}, votes={}, mine=set(),
                              community=community, topic=topic,
                              reply_form=CommentForm(formdata=None),
                              form=CommentForm(formdata=None),
                              stances=_stance_counts(topic))
            return see_other(comment_url(comment))
    if htmx:  # show the errors in the form that was sent
        target = f"#reply-form-{parent.id}" if parent else "#comment-form"
        html, status = render("participation/_comment_form.html", form=form, parent=parent,
                              community=community, topic=topic)
        return html, status, {"HX-Retarget": target, "HX-Reswap": "outerHTML"}
    roots, children, votes, mine, stances = _thread_page(topic)
    return render("participation/topic.html", community=community, topic=topic, roots=roots,
                  children=children, votes=votes, mine=mine, stances=stances,
                  form=form if parent is None else CommentForm(formdata=None),
                  answer_form=AnswerForm(formdata=None), failed_reply=(parent, form),
                  reply_form=CommentForm(formdata=None),
                  membership=membership_of(current_user, community))


@bp.route("/c/<int:community_id>/comments/<int:comment_id>/edit", methods=["GET", "POST"])
def edit_comment(community_id: int, comment_id: int):
    community = _community(community_id)
    require("consultation.view", community)
    comment = _comment_in(community, comment_id)
    if comment.author_id == current_user.id and not can("comment.edit", community, comment):
        flash(_("A comment can be edited for %(n)d minutes after posting; that time has passed.",
                n=current_app.config["COMMENT_EDIT_MINUTES"]), "error")
        return see_other(comment_url(comment))
    require("comment.edit", community, comment)
    form = EditCommentForm(obj=comment)
    if form.validate_on_submit():
        try:
            ops.edit_comment(current_user, comment, form.body.data, form.stance.data or None)
        except ops.OperationError as error:
            _fail(form.body, error)
        else:
            return see_other(comment_url(comment))
    return render("participation/comment_edit.html", community=community, comment=comment,
                  form=form)


@bp.route("/c/<int:community_id>/comments/<int:comment_id>/delete", methods=["GET", "POST"])
def delete_comment(community_id: int, comment_id: int):
    community = _community(community_id)
    require("consultation.view", community)
    comment = _comment_in(community, comment_id)
    require("comment.delete", community, comment)
    form = EmptyForm()
    if form.validate_on_submit():
        ops.delete_comment(current_user, comment)
        flash(_("The comment was deleted."), "success")
        return see_other(comment_url(comment))
    return render("participation/comment_delete.html", community=community, comment=comment,
                  form=form)


@bp.post("/c/<int:community_id>/comments/<int:comment_id>/upvote")
def upvote(community_id: int, comment_id: int):
    community = _community(community_id)
    require("consultation.view", community)
    comment = _comment_in(community, comment_id)
    require("comment.upvote", community, comment)
    if EmptyForm().validate_on_submit():
        ops.upvote(current_user, comment)
    if htmx:
        count = db.session.scalar(select(func.count()).select_from(CommentVote)
                                  .where(CommentVote.comment_id == comment.id))
        return render("participation/_upvote.html", comment=comment, community=community,
                      count=count, voted=True)
    return see_other(comment_url(comment))


@bp.post("/c/<int:community_id>/topics/<int:topic_id>/answer")
def answer_topic(community_id: int, topic_id: int):
    community = _community(community_id)
    topic = _topic(community, topic_id)
    require("comment.answer", community, topic)
    form = AnswerForm()
    if form.validate_on_submit():
        answer = ops.post_answer(current_user, topic, form.body.data, comment_url)
        flash(_("Your official answer is published."), "success")
        return see_other(comment_url(answer))
    flash(_("Write the answer before publishing it."), "error")
    return see_other(topic_url(topic))


@bp.post("/c/<int:community_id>/comments/<int:comment_id>/pin")
def pin_comment(community_id: int, comment_id: int):
    community = _community(community_id)
    comment = _comment_in(community, comment_id)
    require("comment.pin", community, comment)
    if EmptyForm().validate_on_submit():
        ops.set_pinned(current_user, comment, not comment.pinned)
    return see_other(comment_url(comment))


# --- reports and moderation -------------------------------------------------------------------


def _content(community: Community, kind: str, item_id: int):
    if kind == "topic":
        return _topic(community, item_id)
    return _comment_in(community, item_id)


def _content_url(target) -> str:
    return topic_url(target) if isinstance(target, Topic) else comment_url(target)


@bp.route("/c/<int:community_id>/report/<any(topic, comment):kind>/<int:item_id>",
          methods=["GET", "POST"])
def report(community_id: int, kind: str, item_id: int):
    community = _community(community_id)
    require("consultation.view", community)
    target = _content(community, kind, item_id)
    require("content.report", community, target)
    form = ReasonForm()
    if form.validate_on_submit():
        if ops.report_content(current_user, community, target, form.reason.data,
                              _content_url(target)):
            flash(_("Thank you. The moderators will look at your report."), "success")
        else:
            flash(_("You have already reported this."), "info")
        return see_other(_content_url(target))
    return render("participation/report.html", community=community, target=target, form=form)


@bp.get("/c/<int:community_id>/moderation")
def moderation(community_id: int):
    community = _community(community_id)
    require("moderation.manage", community)
    page = paginate(
        select(Report).where(Report.community_id == community.id, Report.resolved_at.is_(None))
        .options(joinedload(Report.reporter),
                 joinedload(Report.topic).joinedload(Topic.author),
                 joinedload(Report.comment).joinedload(Comment.author))
        .order_by(Report.created_at.desc(), Report.id.desc()))
    in_community = Consultation.community_id == community.id
    hidden_topics = db.session.scalars(
        select(Topic).join(Consultation).where(in_community, Topic.hidden_at.is_not(None))
        .options(joinedload(Topic.author)).order_by(Topic.hidden_at.desc()).limit(50)).all()
    hidden_comments = db.session.scalars(
        select(Comment).join(Topic).join(Consultation)
        .where(in_community, Comment.hidden_at.is_not(None))
        .options(joinedload(Comment.author)).order_by(Comment.hidden_at.desc()).limit(50)).all()
    blocked = db.session.scalars(
        select(Membership).where(Membership.community_id == community.id,
                                 Membership.blocked_at.is_not(None))
        .options(joinedload(Membership.user)).order_by(Membership.blocked_at.desc())).all()
    authors = {(r.topic or r.comment).author_id for r in page.items}
    memberships = {m.user_id: m for m in db.session.scalars(
        select(Membership).where(Membership.community_id == community.id,
                                 Membership.user_id.in_(authors)))}
    return render("participation/moderation.html", community=community, page=page,
                  memberships=memberships, hidden_topics=hidden_topics,
                  hidden_comments=hidden_comments, blocked=blocked)


@bp.post("/c/<int:community_id>/moderation/<any(topic, comment):kind>/<int:item_id>/"
         "<any(hide, restore):action>")
def moderate(community_id: int, kind: str, item_id: int, action: str):
    community = _community(community_id)
    require("moderation.manage", community)
    target = _content(community, kind, item_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Give a reason: the author will see it."), "error")
    elif action == "hide":
        ops.hide_content(current_user, community, target, form.reason.data, _content_url(target))
        flash(_("Hidden. The author has been told why."), "success")
    else:
        ops.restore_content(current_user, community, target, form.reason.data,
                            _content_url(target))
        flash(_("Restored."), "success")
    return see_other(url_for("core.moderation", community_id=community.id))


@bp.route("/c/<int:community_id>/moderation/block/<int:membership_id>",
          methods=["GET", "POST"])
def block_member(community_id: int, membership_id: int):
    community = _community(community_id)
    require("moderation.manage", community)
    m = _member(community, membership_id)
    require("moderation.block", community, m)
    form = ReasonForm()
    if m.blocked_at is not None:
        if EmptyForm().validate_on_submit():
            ops.unblock_member(current_user, m)
            flash(_("%(name)s may post again.", name=m.user.display_name), "success")
            return see_other(url_for("core.moderation", community_id=community.id))
    elif form.validate_on_submit():
        ops.block_member(current_user, m, form.reason.data,
                         url_for("core.community", community_id=community.id))
        flash(_("%(name)s can no longer post in this community.", name=m.user.display_name),
              "success")
        return see_other(url_for("core.moderation", community_id=community.id))
    return render("participation/block.html", community=community, member=m, form=form)


# --- meetings ---------------------------------------------------------------------------------


def meeting_url(meeting: Meeting) -> str:
    return url_for("core.meeting", community_id=meeting.community_id, meeting_id=meeting.id)


@bp.get("/c/<int:community_id>/meetings")
def meetings(community_id: int):
    community = _community(community_id)
    require("meeting.view", community)
    stmt = select(Meeting).where(Meeting.community_id == community.id)
    if not can("meeting.manage", community):
        stmt = stmt.where(Meeting.published_at.is_not(None))
    page = paginate(stmt.order_by(Meeting.held_at.desc(), Meeting.id.desc()))
    return render("participation/meetings.html", community=community, page=page)


def _meeting(community: Community, meeting_id: int) -> Meeting:
    meeting = db.session.scalar(
        select(Meeting).where(Meeting.id == meeting_id)
        .options(selectinload(Meeting.items).joinedload(AgendaItem.topic),
                 selectinload(Meeting.photos)))
    if meeting is None or meeting.community_id != community.id:
        abort(404)
    if meeting.published_at is None and not can("meeting.manage", community):
        abort(404)
    return meeting


MAX_MEETING_PHOTOS = 6


@bp.get("/c/<int:community_id>/meetings/<int:meeting_id>/photos/<int:photo_id>")
def meeting_photo(community_id: int, meeting_id: int, photo_id: int):
    community = _community(community_id)
    require("meeting.view", community)
    meeting = _meeting(community, meeting_id)
    photo = next((p for p in meeting.photos if p.id == photo_id), None)
    if photo is None:
        abort(404)
    return send_image("meetings", photo.filename)


@bp.get("/c/<int:community_id>/meetings/<int:meeting_id>")
def meeting(community_id: int, meeting_id: int):
    community = _community(community_id)
    require("meeting.view", community)
    meeting = _meeting(community, meeting_id)
    links = [(source, source.load(meeting.items)) for source in agenda_links.values()]
    return render("participation/meeting.html", community=community, meeting=meeting,
                  links=links)


@bp.route("/c/<int:community_id>/meetings/new", methods=["GET", "POST"],
          defaults={"meeting_id": None})
@bp.route("/c/<int:community_id>/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
def edit_meeting(community_id: int, meeting_id: int | None):
    community = _community(community_id)
    require("meeting.manage", community)
    meeting = _meeting(community, meeting_id) if meeting_id else None
    if meeting is not None and request.method == "GET":
        form = MeetingForm(data={
            "title": meeting.title, "held_at": _shown(meeting.held_at), "place": meeting.place,
            "attendance": meeting.attendance, "attendee_names": meeting.attendee_names,
            "minutes": meeting.minutes, "publish": meeting.published_at is not None,
            "items": [{"title": i.title, "topic_id": str(i.topic_id or ""),
                       "decision": i.decision} for i in meeting.items] + [{}],
        })
    else:
        form = MeetingForm()
    topics = db.session.execute(
        select(Topic.id, Topic.title).join(Consultation)
        .where(Consultation.community_id == community.id, Topic.hidden_at.is_(None))
        .order_by(Topic.created_at.desc()).limit(200)).all()
    linked = {item.topic.id: item.topic.title for item in (meeting.items if meeting else [])
              if item.topic is not None}
    # Topics already linked stay choosable, even when older than the latest 200 or hidden.
    topics = list(topics) + [(tid, title) for tid, title in linked.items()
                             if tid not in {t for t, _title in topics}]
    choices = [SelectChoice("", _("No linked topic"))] + [
        SelectChoice(str(tid), title) for tid, title in topics]
    for item in form.items:
        item.topic_id.choices = choices
    # What areas let agenda items link to (proposals, ...), with each row's current choice.
    current = {key: source.load(meeting.items) for key, source in agenda_links.items()} \
        if meeting else {}
    links = []
    for key, source in agenda_links.items():
        chosen = {}
        for row, item in enumerate(meeting.items if meeting else []):
            if item.id in current[key]:
                chosen[row] = current[key][item.id][0]
        for row in range(len(form.items)):
            picked = request.form.get(f"items-{row}-{key}")
            if picked is not None:
                chosen[row] = parse_id(picked)
        links.append((source, source.choices(community), chosen))
    if form.validate_on_submit():
        titled = [row for row, i in enumerate(form.items) if i.title.data]
        items = [(i.title.data, parse_id(i.topic_id.data), i.decision.data or "")
                 for i in form.items if i.title.data]
        uploads = [f for f in form.photos.data or [] if _uploaded(f)]
        remove = parse_ids(request.form.getlist("remove_photo"))
        kept = len([p for p in meeting.photos if p.id not in remove]) if meeting else 0
        try:
            if kept + len(uploads) > MAX_MEETING_PHOTOS:
                raise ops.OperationError(_("A meeting record holds at most %(n)d photos.",
                                           n=MAX_MEETING_PHOTOS))
            photos = _saved_images(uploads, "meetings")
        except (ops.OperationError, ImageRejected) as error:
            form.photos.errors = [str(error)]
            return render("participation/meeting_form.html", community=community,
                          meeting=meeting, form=form)
        try:
            saved = ops.save_meeting(
                current_user, community, meeting, title=form.title.data,
                held_at=_local(form.held_at.data), place=form.place.data,
                attendance=form.attendance.data, attendee_names=form.attendee_names.data,
                minutes=form.minutes.data or "", items=items, publish=form.publish.data,
                photos=photos, remove_photos=remove, url_for_meeting=meeting_url)
            for source, _choices, chosen in links:
                for row, item in zip(titled, saved.items, strict=True):
                    source.save(item, chosen.get(row))
        except ops.OperationError as error:
            _fail(form.title, error)
        else:
            flash(_("The meeting record is saved."), "success")
            return see_other(meeting_url(saved))
    return render("participation/meeting_form.html", community=community, meeting=meeting,
                  form=form, links=links)


# --- notifications ----------------------------------------------------------------------------


@bp.get("/notifications")
def notifications():
    require("account.use")
    page = paginate(select(Notification).where(Notification.user_id == current_user.id)
                    .order_by(Notification.created_at.desc(), Notification.id.desc()))
    return render("participation/notifications.html", page=page, form=EmptyForm())


@bp.post("/notifications/read")
def read_notifications():
    require("account.use")
    if EmptyForm().validate_on_submit():
        notification_id = parse_id(request.form.get("id"))
        ops.mark_read(current_user, notification_id)
        if notification_id:
            target = db.session.get(Notification, notification_id)
            if target is not None and target.user_id == current_user.id:
                return see_other(safe_next(target.url, url_for("core.notifications")))
    return see_other(url_for("core.notifications"))
