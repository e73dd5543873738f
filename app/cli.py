"""Flask CLI commands for operators."""

from __future__ import annotations

import getpass

import click
from flask import Flask
from flask.cli import with_appcontext

from app.services import accounts


@click.command("create-user")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--password", envvar="STEPLINE_NEW_USER_PASSWORD", help="Prompted when omitted.")
@with_appcontext
def create_user(email: str, name: str, password: str | None) -> None:
    """Create a user account (for admins)."""
    from app.extensions import db

    if password is None:
        password = getpass.getpass("Password: ")
    try:
        user = accounts.register(db.session(), email=email, name=name, password=password)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created user {user.id} <{user.email}>")


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user)
