"""Credentials for scripts: list, read, create, update (rename, rotate), test, delete; and the
installed kinds. Answers never hold a secret (app.services.credentials.views masks them)."""

from __future__ import annotations

from flask import Response, request

from app.api import auth
from app.api.blueprint import bp
from app.api.bodies import parse_body
from app.api.credential_schemas import (
    CredentialCreate,
    CredentialKindList,
    CredentialKindOut,
    CredentialList,
    CredentialOut,
    CredentialTestResult,
    CredentialUpdate,
)
from app.api.errors import ApiError
from app.api.schemas import no_content, respond
from app.credentials.registry import installed_kinds
from app.extensions import container, db
from app.models import Credential
from app.services.credentials import manage, views

CREDENTIAL_ID = "<int:credential_id>"
BASE = "/connections/credentials"


def credential_out(credential: Credential) -> CredentialOut:
    view = views.view(credential, container().secrets, installed_kinds())
    return CredentialOut.model_validate(view.as_json())


def _find(credential_id: int) -> Credential:
    return manage.get_credential(db.session(), credential_id, auth.current_user().id)


@bp.get("/connections/credential-kinds")
def credential_kind_list() -> Response:
    """The installed kinds, each with the JSON Schema of its fields."""
    items = [
        CredentialKindOut(
            kind=k.kind,
            name=k.name,
            description=k.description,
            can_test=k.can_test,
            secret_fields=sorted(k.secret_fields()),
            fields_schema=k.form_schema(),
        )
        for k in installed_kinds()
    ]
    return respond(CredentialKindList(items=items))


@bp.get(BASE)
def credential_list() -> Response:
    """The user's credentials, masked."""
    found = manage.list_credentials(db.session(), auth.current_user().id)
    return respond(CredentialList(items=[credential_out(c) for c in found]))


@bp.post(BASE)
def credential_create() -> Response:
    body = parse_body(CredentialCreate)
    created = manage.create(
        db.session(),
        container().secrets,
        installed_kinds(),
        auth.current_user().id,
        kind=body.kind,
        name=body.name,
        fields=body.fields,
        budget=body.budget.model_dump() if body.budget else None,
    )
    return respond(credential_out(created), 201)


@bp.get(f"{BASE}/{CREDENTIAL_ID}")
def credential_show(credential_id: int) -> Response:
    return respond(credential_out(_find(credential_id)))


@bp.patch(f"{BASE}/{CREDENTIAL_ID}")
def credential_update(credential_id: int) -> Response:
    credential = _find(credential_id)
    body = parse_body(CredentialUpdate)
    budget = body.budget.model_dump(exclude_none=True) if body.budget else None
    changes = manage.Changes(
        name=body.name, fields=body.fields, budget=budget or None, clear_budget=budget == {}
    )
    box, kinds = container().secrets, installed_kinds()
    updated = manage.update(db.session(), box, kinds, credential, changes)
    return respond(credential_out(updated))


@bp.post(f"{BASE}/{CREDENTIAL_ID}/test")
def credential_test(credential_id: int) -> Response:
    credential = _find(credential_id)
    stepline = container()
    result = manage.test_connection(
        db.session(), stepline.secrets, installed_kinds(), stepline.settings, credential
    )
    out = credential_out(credential)
    return respond(CredentialTestResult(ok=result.ok, message=result.message, credential=out))


@bp.delete(f"{BASE}/{CREDENTIAL_ID}")
def credential_delete(credential_id: int) -> Response:
    credential = _find(credential_id)
    raw = request.args.get("confirm", "false")
    if raw not in ("true", "false"):
        raise ApiError(400, "invalid_parameter", "`confirm` must be true or false.", "confirm")
    manage.delete(db.session(), credential, confirmed=raw == "true")
    return no_content()
