"""What a credential looks like to people and scripts: its kind, name, non-secret fields, and
for each secret field only whether it is set (a mask). Never a decrypted secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.credentials.base import CredentialKind
from app.credentials.registry import KindRegistry, UnknownKindError
from app.credentials.store import unseal_fields
from app.crypto import DecryptionError, SecretBox
from app.engine.redaction import REDACTED
from app.models import Credential


@dataclass(frozen=True)
class CredentialView:
    """A credential, masked: `fields` holds non-secret values and REDACTED for set secrets."""

    id: int
    kind: str
    kind_name: str
    name: str
    fields: dict[str, Any]
    secret_fields: list[str]
    budget: dict[str, Any] | None
    can_test: bool
    last_tested_at: datetime | None
    last_test_ok: bool | None
    last_test_message: str | None
    created_at: datetime
    updated_at: datetime
    problem: str | None = None  # undecryptable, or its kind is not installed
    used_by: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The API's shape (timestamps in ISO 8601)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "kind_name": self.kind_name,
            "name": self.name,
            "fields": self.fields,
            "secret_fields": self.secret_fields,
            "budget": self.budget,
            "can_test": self.can_test,
            "last_test": None
            if self.last_tested_at is None
            else {
                "at": self.last_tested_at.isoformat(),
                "ok": self.last_test_ok,
                "message": self.last_test_message,
            },
            "problem": self.problem,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def masked(fields: dict[str, Any], kind: CredentialKind) -> dict[str, Any]:
    """`fields` with every secret value that is set replaced by the mask."""
    secret = kind.secret_fields()
    return {k: (REDACTED if v else None) if k in secret else v for k, v in fields.items()}


def view(
    credential: Credential,
    box: SecretBox,
    kinds: KindRegistry,
    used_by: list[str] | None = None,
) -> CredentialView:
    problem = None
    try:
        kind: CredentialKind | None = kinds.get(credential.kind)
    except UnknownKindError:
        kind, problem = None, f"Its kind {credential.kind!r} is not installed."
    shown: dict[str, Any] = {}
    if kind is not None:
        try:
            shown = masked(unseal_fields(box, credential.data_encrypted), kind)
        except (DecryptionError, ValueError):
            problem = "It cannot be decrypted with the configured keys: enter its secrets again."
    return CredentialView(
        id=credential.id,
        kind=credential.kind,
        kind_name=kind.name if kind else credential.kind,
        name=credential.name,
        fields=shown,
        secret_fields=sorted(kind.secret_fields()) if kind else [],
        budget=credential.budget,
        can_test=bool(kind and kind.can_test),
        last_tested_at=credential.last_tested_at,
        last_test_ok=credential.last_test_ok,
        last_test_message=credential.last_test_message,
        created_at=credential.created_at,
        updated_at=credential.updated_at,
        problem=problem,
        used_by=used_by or [],
    )
