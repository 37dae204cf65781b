"""Console commands: `flask --app app start | demo | create-admin`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from .accounts.forms import EMAIL_RE, PHONE_RE
from .accounts.models import User
from .accounts.operations import find_user, normalise_login
from .audit.operations import record
from .extensions import db
from .i18n import compile_catalogs
from .security import hash_password, password_problem


def init_app(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(start_command)
    app.cli.add_command(notify_phases_command)
    app.cli.add_command(prune_uploads_command)


@click.command("prune-uploads")
@click.option("--min-age-hours", default=1.0, show_default=True,
              help="Keep files younger than this: a form may be saving them right now.")
@with_appcontext
def prune_uploads_command(min_age_hours: float) -> None:
    """Delete stored pictures nothing refers to any more (run it from cron, e.g. nightly)."""
    from datetime import timedelta

    from .uploads import prune

    count = prune(timedelta(hours=min_age_hours))
    click.echo(f"{count} unused picture(s) deleted.")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create the demo community (safe to run again) and print its logins."""
    from .demo import DEMO_PASSWORD, seed_demo

    if current_app.config["PRODUCTION"]:
        raise click.ClickException("The demo community (with its published passwords) is not "
                                   "loaded in production.")
    logins = seed_demo()
    db.session.commit()
    click.echo("\n演示账号 / Demo logins (password 密码: %s)" % DEMO_PASSWORD)
    for role, login, name in logins:
        click.echo(f"  {role:<22} {login:<24} {name}")
    click.echo("")


@click.command("create-admin")
@click.option("--login", prompt="Mobile number or e-mail", help="The admin's login.")
@click.option("--name", prompt="Display name", help="The admin's display name.")
@click.password_option(help="At least 8 characters, not a common one.")
@with_appcontext
def create_admin_command(login: str, name: str, password: str) -> None:
    """Make a platform admin (街道/区) from the console."""
    if password_problem(password):
        raise click.ClickException("The password is too short (under 8 characters) or too "
                                   "common.")
    kind, value = normalise_login(login)
    if not (EMAIL_RE.match(value) if kind == "email" else PHONE_RE.match(value)):
        raise click.ClickException("Give an e-mail address or an 11-digit mainland mobile number.")
    user = find_user(login)
    if user is None:
        user = User(display_name=name, password_hash=hash_password(password))
        setattr(user, kind, value)
        db.session.add(user)
    else:
        click.echo(f"{user.login} already has an account ({user.display_name}); its password is "
                   "left unchanged.")
    user.is_admin = True
    db.session.flush()
    record("user.made_admin", actor=None, target=f"user:{user.id}", via="console")
    db.session.commit()
    click.echo(f"{user.login} is now a platform admin.")


@click.command("start")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@with_appcontext
def start_command(host: str, port: int) -> None:
    """Compile the catalogs, build the database, load the demo community and serve."""
    compile_catalogs()
    upgrade()
    ctx = click.get_current_context()
    ctx.invoke(demo_command)
    click.echo(f"Linli 邻里: http://{host}:{port}")
    # `app.run()` refuses to run inside a flask CLI command; serve with Werkzeug directly.
    run_simple(host, port, current_app._get_current_object(), threaded=True)


@click.command("notify-phases")
@with_appcontext
def notify_phases_command() -> None:
    """Tell members about phases that have begun (run it from cron, e.g. every 10 minutes)."""
    from . import clock
    from .consultations.operations import announce_started_phases
    from .consultations.views import consultation_url
    from .mail import send_queued_mail

    with current_app.test_request_context(current_app.config.get("BASE_URL") or "/"):
        count = announce_started_phases(clock.now(), consultation_url)
        db.session.commit()
        send_queued_mail()
    click.echo(f"{count} phase(s) announced.")
