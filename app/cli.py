"""Flask CLI commands for operators."""

from __future__ import annotations

import getpass
import signal
import threading
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app import workflow_cli
from app.extensions import container, db
from app.ops.doctor import diagnose, report
from app.scheduler import Scheduler
from app.services.accounts import api_tokens, users
from app.services.executions import retention


@click.command("create-user")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--password", envvar="STEPLINE_NEW_USER_PASSWORD", help="Prompted when omitted.")
@with_appcontext
def create_user(email: str, name: str, password: str | None) -> None:
    """Create a user account (for admins)."""
    if password is None:
        password = getpass.getpass("Password: ")
    try:
        user = users.register(
            db.session(),
            email=email,
            name=name,
            password=password,
            hash_method=container().settings.password_hash_method,
        )
    except users.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created user {user.id} <{user.email}>")


@click.command("create-token")
@click.argument("email")
@click.option("--name", required=True, help="Which script uses it, e.g. 'nightly export'.")
@click.option(
    "--scope",
    type=click.Choice(api_tokens.SCOPES),
    default=api_tokens.WRITE,
    show_default=True,
    help="read: GET only; write: everything.",
)
@click.option("--expires-in-days", type=click.IntRange(1, api_tokens.MAX_EXPIRY_DAYS))
@with_appcontext
def create_token(email: str, name: str, scope: str, expires_in_days: int | None) -> None:
    """Create an API token for a user and print it, this once (a headless deployment's first)."""
    session = db.session()
    user = users.find_by_email(session, email)
    if user is None:
        raise click.ClickException(f"No user with the email {email!r}.")
    try:
        issued = api_tokens.create_token(
            session, user, name, scope=scope, expires_in_days=expires_in_days
        )
    except api_tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    expiry = issued.token.expires_at
    until = f", expires {expiry:%Y-%m-%d %H:%M} UTC" if expiry else ""
    click.echo(f"created {scope} token {issued.token.id} “{issued.token.name}”{until}", err=True)
    click.echo(issued.secret)


@click.command("scheduler")
@click.option("--interval", type=float, help="Seconds between passes (SCHEDULER_INTERVAL).")
@with_appcontext
def scheduler(interval: float | None) -> None:
    """Run the scheduler loop (recovery, retention) until interrupted."""
    stepline = container()
    settings = stepline.settings
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo("scheduler running", err=True)
    loop = Scheduler(stepline, recovery_every=settings.recovery_interval)
    loop.run_forever(stop, interval or settings.scheduler_interval)


def _duration(text: str) -> timedelta:
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    try:
        return timedelta(seconds=int(text[:-1]) * units[text[-1]])
    except (KeyError, ValueError, IndexError):
        raise click.BadParameter("use a number and a unit, such as 30d, 12h or 90m") from None


@click.command("prune-executions")
@click.option("--older-than", "older_than", default="30d", show_default=True)
@with_appcontext
def prune_executions(older_than: str) -> None:
    """Delete finished executions older than the given age."""
    deleted = retention.prune(db.session(), _duration(older_than))
    click.echo(f"deleted {deleted} executions")


@click.command("doctor")
@with_appcontext
def doctor() -> None:
    """Print what the app sees (database, broker, Redis, keys); exit 1 if something is broken."""
    found = diagnose(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(report(found))
    if not all(check.ok for check in found):
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(create_token)
    app.cli.add_command(doctor)
    app.cli.add_command(scheduler)
    app.cli.add_command(prune_executions)
    workflow_cli.init_app(app)
