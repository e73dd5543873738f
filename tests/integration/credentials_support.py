"""Helpers of the credentials tests: workflows and credentials stored through the services."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from app.credentials.registry import installed_kinds
from app.extensions import container, db
from app.models import User
from app.services.credentials import manage
from app.services.workflows import crud
from app.services.workflows.specs import WorkflowSpec


def user_id(app: Flask, email: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(User.id).where(User.email == email))
        assert found is not None
        return found


def add_workflow(app: Flask, email: str, spec: dict[str, Any]) -> int:
    with app.app_context():
        stepline = container(app)
        workflow = crud.create_workflow(
            db.session(),
            user_id(app, email),
            WorkflowSpec.model_validate(spec),
            stepline.secrets,
            stepline.handlers,
        )
        return workflow.id


def add_credential(app: Flask, email: str, kind: str, name: str, fields: dict[str, Any]) -> int:
    with app.app_context():
        row = manage.create(
            db.session(),
            container(app).secrets,
            installed_kinds(),
            user_id(app, email),
            kind=kind,
            name=name,
            fields=fields,
        )
        return row.id
