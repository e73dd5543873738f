"""Connection use cases: list, store what an OAuth callback granted, revoke, and the check that
a workflow only names its owner's connections.

Tokens are stored Fernet-encrypted (SecretBox) and never leave this layer in clear text except
towards Google. Tokens for steps and polls (refresh, back-off) are in app/google/tokens.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto import DecryptionError, SecretBox
from app.google import token_endpoint
from app.google.tokens import expiry
from app.models import Connection, ConnectionStatus, Workflow
from app.services.errors import InvalidInputError, NotFoundError, found_id
from app.services.workflows import tree
from app.services.workflows.specs import WorkflowSpec
from app.settings import Settings

PROVIDER = "google"
REFERENCE_KEY = "connection_id"


def get_connection(session: Session, connection_id: int, owner_id: int) -> Connection:
    """The user's connection, or NotFoundError (also for another user's connection)."""
    found_id(connection_id, f"connection {connection_id}")
    connection = session.scalar(
        select(Connection).where(Connection.id == connection_id, Connection.user_id == owner_id)
    )
    if connection is None:
        raise NotFoundError(f"connection {connection_id}")
    return connection


def list_connections(session: Session, owner_id: int) -> list[Connection]:
    """The user's connections, oldest first."""
    return list(
        session.scalars(
            select(Connection).where(Connection.user_id == owner_id).order_by(Connection.id)
        )
    )


def save_authorized(
    session: Session,
    secrets: SecretBox,
    owner_id: int,
    account_email: str,
    token: Mapping[str, Any],
    requested_scopes: list[str],
) -> Connection:
    """Store what Google granted in an OAuth callback: a new connection, or the same account's
    existing one updated (reconnect, or more scopes). Tokens are encrypted before storing."""
    if not token.get("access_token"):
        raise InvalidInputError("Google answered without an access token.")
    email = account_email.strip().lower()
    connection = session.scalar(
        select(Connection).where(
            Connection.user_id == owner_id,
            Connection.provider == PROVIDER,
            Connection.account_email == email,
        )
    )
    if connection is None:
        connection = Connection(user_id=owner_id, provider=PROVIDER, account_email=email)
        session.add(connection)
    granted = str(token.get("scope") or "").split() or requested_scopes
    connection.scopes = sorted(set(granted))
    connection.access_token_encrypted = secrets.encrypt(str(token["access_token"]))
    if token.get("refresh_token"):
        connection.refresh_token_encrypted = secrets.encrypt(str(token["refresh_token"]))
    if connection.refresh_token_encrypted is None:
        raise InvalidInputError(
            "Google sent no refresh token; remove Stepline's access in your Google account "
            "and connect again."
        )
    connection.expires_at = expiry(token)
    connection.status = ConnectionStatus.ACTIVE
    connection.backoff_until = None
    connection.refresh_claimed_until = None
    session.commit()
    return connection


@dataclass(frozen=True)
class Revoked:
    """A revoked connection, and whether Google confirmed (False: it could not be reached)."""

    connection: Connection
    confirmed: bool


def revoke(
    session: Session, settings: Settings, secrets: SecretBox, connection: Connection
) -> Revoked:
    """Ask Google to revoke the grant, then delete the tokens whatever Google answered."""
    stored = connection.refresh_token_encrypted or connection.access_token_encrypted
    confirmed = True
    if stored is not None:
        try:
            confirmed = token_endpoint.revoke(settings, secrets.decrypt(stored))
        except DecryptionError:
            confirmed = False
    connection.access_token_encrypted = None
    connection.refresh_token_encrypted = None
    connection.expires_at = None
    connection.status = ConnectionStatus.REVOKED
    session.commit()
    return Revoked(connection, confirmed)


def _references(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) of a `connection_id` key, however deeply nested."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}"
            if key == REFERENCE_KEY:
                yield where, item
            else:
                yield from _references(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _references(item, f"{path}.{index}")


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def check_references(session: Session, owner_id: int, spec: WorkflowSpec) -> None:
    """Every connection a workflow names (trigger or step, at any depth) is one of the
    owner's; otherwise InvalidInputError naming the field. A template is refused too: the
    connection a step uses is fixed when it is saved (and checked again when it runs)."""
    found = list(_references(spec.trigger.config, "trigger.config"))
    steps = spec.model_dump(mode="json", include={"steps"})["steps"]
    for place in tree.walk(steps):
        where = f"{tree.dotted(place.path)}.config"
        found += list(_references(place.step.get("config") or {}, where))
    if not found:
        return
    owned = set(session.scalars(select(Connection.id).where(Connection.user_id == owner_id)).all())
    for field, value in found:
        if value is None or value == "":
            continue  # a missing connection is the config model's to report
        connection_id = _as_id(value)
        if connection_id is None:
            raise InvalidInputError("Choose one of your connections by its id.", field=field)
        if connection_id not in owned:
            raise InvalidInputError(
                f"Connection {connection_id} does not exist or is not yours.", field=field
            )


def needing_attention(session: Session, workflow: Workflow) -> list[Connection]:
    """The connections the workflow uses that cannot work until the user acts (reconnect)."""
    ids: set[int] = set()
    configs = [workflow.trigger.config] if workflow.trigger else []
    configs += [action.config for action in workflow.actions]
    for config in configs:
        for _field, value in _references(config, "config"):
            connection_id = _as_id(value)
            if connection_id is not None:
                ids.add(connection_id)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Connection)
            .where(
                Connection.id.in_(ids),
                Connection.user_id == workflow.user_id,
                Connection.status != ConnectionStatus.ACTIVE,
            )
            .order_by(Connection.id)
        )
    )
