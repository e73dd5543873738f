"""Credential use cases: list, get, create, update (rename, rotate: replace secret values),
test ("Test connection") and delete (asking first when workflows use it).

Fields are validated by the kind's model and stored as one encrypted token; a secret field
left blank (or sent back as the mask) on update keeps its stored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.credentials.base import CredentialKind, CredentialTestError
from app.credentials.registry import KindRegistry, UnknownKindError
from app.credentials.store import seal, unseal_fields
from app.crypto import DecryptionError, SecretBox
from app.engine.redaction import REDACTED
from app.models import Credential
from app.models.base import utcnow
from app.net import GuardedClient
from app.services.credentials.references import using
from app.services.errors import ConflictError, InvalidInputError, NotFoundError, found_id
from app.services.workflows.validation_messages import plain
from app.settings import Settings

MAX_NAME = 200
MAX_TEST_MESSAGE = 500


class CredentialInUseError(ConflictError):
    """Deleting a credential that workflows use needs a confirmation; names them."""

    code = "credential_in_use"

    def __init__(self, name: str, workflows: list[str]) -> None:
        listed = ", ".join(repr(w) for w in workflows)
        super().__init__(
            f"Credential {name!r} is used by {len(workflows)} workflow(s): {listed}. "
            "Confirm to delete it anyway; their steps will then fail until you choose another."
        )
        self.workflows = workflows


def list_credentials(session: Session, owner_id: int) -> list[Credential]:
    """The user's credentials, by kind then name."""
    return list(
        session.scalars(
            select(Credential)
            .where(Credential.user_id == owner_id)
            .order_by(Credential.kind, Credential.name, Credential.id)
        )
    )


def get_credential(session: Session, credential_id: int, owner_id: int) -> Credential:
    """The user's credential, or NotFoundError (also for another user's)."""
    found_id(credential_id, f"credential {credential_id}")
    credential = session.scalar(
        select(Credential).where(Credential.id == credential_id, Credential.user_id == owner_id)
    )
    if credential is None:
        raise NotFoundError(f"credential {credential_id}")
    return credential


def _kind(kinds: KindRegistry, name: Any) -> CredentialKind:
    try:
        return kinds.get(str(name or ""))
    except UnknownKindError:
        known = ", ".join(kinds.names())
        raise InvalidInputError(
            f"Unknown credential kind {name!r}; choose one of {known}.", field="kind"
        ) from None


def _name(value: Any) -> str:
    name = str(value or "").strip()
    if not name:
        raise InvalidInputError("Give the credential a name.", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInputError(f"Use at most {MAX_NAME} characters.", field="name")
    return name


def _validated(kind: CredentialKind, fields: Mapping[str, Any]) -> dict[str, Any]:
    data = {k: (None if v == "" else v) for k, v in fields.items()}
    try:
        return kind.validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        field = f"fields.{where}" if where else "fields"
        raise InvalidInputError(plain(error["msg"]), field=field) from None


def _budget(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"per_second", "per_minute"}:
        raise InvalidInputError(
            'Give the budget as {"per_second": n, "per_minute": n}.', field="budget"
        )
    budget: dict[str, Any] = {}
    for key, cast in (("per_second", float), ("per_minute", int)):
        raw = value.get(key)
        if raw is None or raw == "":
            continue
        try:
            number = cast(raw)
        except (TypeError, ValueError):
            number = -1
        if isinstance(raw, bool) or number <= 0:
            raise InvalidInputError("Enter a number above 0.", field=f"budget.{key}")
        budget[key] = number
    return budget or None


def _store(session: Session, credential: Credential) -> Credential:
    with session.no_autoflush:  # the row itself is not written yet
        taken = session.scalar(
            select(Credential.id).where(
                Credential.user_id == credential.user_id,
                Credential.kind == credential.kind,
                Credential.name == credential.name,
                Credential.id != credential.id if credential.id else true(),
            )
        )
    if taken is not None:
        session.rollback()
        raise _duplicate(credential)
    try:
        session.commit()
    except IntegrityError:  # the same name saved meanwhile
        session.rollback()
        raise _duplicate(credential) from None
    return credential


def _duplicate(credential: Credential) -> ConflictError:
    return ConflictError(
        f"You already have a {credential.kind} credential named {credential.name!r}.",
        field="name",
    )


def create(
    session: Session,
    box: SecretBox,
    kinds: KindRegistry,
    owner_id: int,
    *,
    kind: Any,
    name: Any,
    fields: Mapping[str, Any],
    budget: Any = None,
) -> Credential:
    """A new credential of `kind`; the fields are validated by the kind's model."""
    chosen = _kind(kinds, kind)
    credential = Credential(
        user_id=owner_id,
        kind=chosen.kind,
        name=_name(name),
        data_encrypted=seal(box, _validated(chosen, fields)),
        budget=_budget(budget) if budget is not None else _default_budget(chosen),
    )
    session.add(credential)
    return _store(session, credential)


def _default_budget(kind: CredentialKind) -> dict[str, Any] | None:
    return kind.default_budget.as_json() if kind.default_budget else None


@dataclass(frozen=True)
class Changes:
    """An update: each part None when unchanged. In `fields`, a secret left blank (or the
    mask) keeps its value; any other field given replaces it."""

    name: Any = None
    fields: Mapping[str, Any] | None = None
    budget: Any = None
    clear_budget: bool = False


def update(
    session: Session, box: SecretBox, kinds: KindRegistry, credential: Credential, changes: Changes
) -> Credential:
    """Rename, rotate (replace secret values), change other fields or the budget."""
    if changes.name is not None:
        credential.name = _name(changes.name)
    if changes.fields is not None:
        kind = _kind(kinds, credential.kind)
        try:
            stored = unseal_fields(box, credential.data_encrypted)
        except (DecryptionError, ValueError):
            stored = {}  # undecryptable: the update must give every secret again
        secret = kind.secret_fields()
        merged = dict(stored)
        for key, value in changes.fields.items():
            if key in secret and (value is None or value == "" or value == REDACTED):
                continue
            merged[key] = value
        credential.data_encrypted = seal(box, _validated(kind, merged))
        credential.last_tested_at = credential.last_test_ok = None
        credential.last_test_message = None
    if changes.clear_budget:
        credential.budget = None
    elif changes.budget is not None:
        credential.budget = _budget(changes.budget)
    credential.updated_at = utcnow()
    return _store(session, credential)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


def test_connection(
    session: Session,
    box: SecretBox,
    kinds: KindRegistry,
    settings: Settings,
    credential: Credential,
) -> CheckResult:
    """Check the credential against its service (no side effects); the result is kept on
    the credential (`last_test_*`)."""
    kind = _kind(kinds, credential.kind)
    if not kind.can_test:
        raise ConflictError(f"{kind.name} credentials cannot be tested.", field="kind")
    try:
        fields = unseal_fields(box, credential.data_encrypted)
    except (DecryptionError, ValueError):
        raise InvalidInputError(
            "This credential cannot be decrypted with the configured keys: enter its secrets "
            "again.",
            field="fields",
        ) from None
    client = GuardedClient.from_settings(settings)
    try:
        result = CheckResult(True, kind.test(fields, client, settings))
    except CredentialTestError as exc:
        result = CheckResult(False, str(exc))
    secrets = [v for k, v in fields.items() if k in kind.secret_fields() and v]
    message = result.message
    for secret in secrets:
        message = message.replace(str(secret), REDACTED)
    credential.last_tested_at = utcnow()
    credential.last_test_ok = result.ok
    credential.last_test_message = message[:MAX_TEST_MESSAGE]
    session.commit()
    return CheckResult(result.ok, credential.last_test_message)


def delete(session: Session, credential: Credential, *, confirmed: bool = False) -> None:
    """Delete the credential; when workflows use it and it is not `confirmed`,
    CredentialInUseError names them."""
    users = using(session, credential)
    if users and not confirmed:
        raise CredentialInUseError(credential.name, [w.name for w in users])
    session.delete(credential)
    session.commit()
