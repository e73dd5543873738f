"""`flask create-user` for admins."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import User


def test_create_user_command_makes_an_account_that_can_log_in(app: Flask) -> None:
    runner = app.test_cli_runner()

    result = runner.invoke(
        args=["create-user", "admin@example.com", "--password", "a long password"]
    )

    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "admin@example.com")).one()
        assert user.check_password("a long password")
        assert user.password_hash.startswith("scrypt:")


def test_create_user_command_refuses_a_taken_email(app: Flask) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["create-user", "admin@example.com", "--password", "a long password"])

    result = runner.invoke(
        args=["create-user", "admin@example.com", "--password", "a long password"]
    )

    assert result.exit_code != 0
    assert "already exists" in result.output
