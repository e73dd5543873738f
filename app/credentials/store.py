"""Reading a credential where it is used (a step, a poll): the owner's, of an accepted kind,
decrypted. No Flask and no services here: the engine and the triggers call it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.credentials.registry import KindRegistry, UnknownKindError, installed_kinds
from app.crypto import DecryptionError, SecretBox
from app.models import Credential


class CredentialUnavailableError(LookupError):
    """The credential cannot be used here: missing, another user's, of another kind,
    undecryptable. The message is fit to show (it names no secret)."""


@dataclass(frozen=True)
class Unsealed:
    """A credential's decrypted fields and the secret values among them (to redact)."""

    kind: str
    name: str
    fields: dict[str, Any]
    secrets: list[str]
    budget: dict[str, Any] | None = None  # its rate budget (app.engine.budgets), if it has one


def seal(box: SecretBox, fields: dict[str, Any]) -> str:
    """The encrypted text stored in `credentials.data_encrypted`."""
    return box.encrypt(json.dumps(fields, separators=(",", ":"), sort_keys=True))


def unseal_fields(box: SecretBox, stored: str) -> dict[str, Any]:
    data = json.loads(box.decrypt(stored))
    if not isinstance(data, dict):
        raise DecryptionError("a stored credential is not an object")
    return data


def load(
    session: Session,
    box: SecretBox,
    *,
    user_id: int,
    credential_id: Any,
    kinds: Iterable[str] | str,
    registry: KindRegistry | None = None,
) -> Unsealed:
    """The fields of `user_id`'s credential `credential_id`, which must be of one of `kinds`."""
    accepted = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    wanted = " or ".join(accepted) or "any"
    if credential_id is None or credential_id == "":
        raise CredentialUnavailableError(f"No credential chosen (a {wanted} credential).")
    try:
        ident = int(credential_id)
    except (TypeError, ValueError):
        raise CredentialUnavailableError(
            f"Credential id {credential_id!r} is not a number."
        ) from None
    row = session.scalars(
        select(Credential).where(Credential.id == ident, Credential.user_id == user_id)
    ).one_or_none()
    if row is None:
        raise CredentialUnavailableError(
            f"Credential {ident} does not exist (or belongs to another user)."
        )
    if accepted and row.kind not in accepted:
        raise CredentialUnavailableError(
            f"Credential {ident} ({row.name!r}) is a {row.kind} credential; this step needs "
            f"a {wanted} credential."
        )
    try:
        kind = (registry or installed_kinds()).get(row.kind)
    except UnknownKindError:
        raise CredentialUnavailableError(
            f"Credential {ident} is of kind {row.kind!r}, which is not installed."
        ) from None
    try:
        fields = unseal_fields(box, row.data_encrypted)
    except (DecryptionError, ValueError):
        raise CredentialUnavailableError(
            f"Credential {ident} ({row.name!r}) cannot be decrypted with the configured keys."
        ) from None
    names = kind.secret_fields()
    secrets = [v for k, v in fields.items() if k in names and isinstance(v, str) and v]
    return Unsealed(row.kind, row.name, fields, secrets, row.budget)
