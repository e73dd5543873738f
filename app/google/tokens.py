"""Access tokens of connections for steps and polls: read, refresh once, back off.

An access token is refreshed shortly before it expires. However many steps need it at once,
one of them refreshes: on PostgreSQL it locks the connection's row (SELECT ... FOR UPDATE) and
the others wait on the lock, then find the fresh token; on SQLite it claims the refresh with a
conditional UPDATE (on the token it read) and the others poll the row until the token changes.
Google's `invalid_grant` marks the connection "needs reconnect" (tokens deleted) and the step
fails without retry. A 429 or quota error sets `backoff_until` on the connection: every call on
it waits until then, while other connections carry on.

It lives with the Google client, in the core, because the Google actions and triggers need it
while they run; the connection services (app/services/connections/store.py) use it from above.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.crypto import DecryptionError, SecretBox
from app.google import token_endpoint
from app.google.errors import (
    ConnectionUnusableError,
    GoogleAPIError,
    RateLimitedError,
    ReconnectNeededError,
)
from app.models import Connection, ConnectionStatus
from app.models.base import rowcount, utcnow
from app.settings import Settings

REFRESH_MARGIN = timedelta(seconds=60)  # refresh a token this long before it expires
CLAIM_EXTRA_SECONDS = 15.0  # a refresh claim outlives the outbound timeout by this much
WAIT_STEP_SECONDS = 0.05
SessionFactory = Callable[[], Session]


@dataclass(frozen=True)
class Credentials:
    """What a Google call needs from a connection."""

    connection_id: int
    account_email: str
    scopes: tuple[str, ...]
    access_token: str


@dataclass(frozen=True)
class Tokens:
    """Where tokens are read from and refreshed with."""

    session_factory: SessionFactory
    settings: Settings
    secrets: SecretBox

    def credentials(
        self, connection_id: int, owner_id: int, *, stale: str | None = None
    ) -> Credentials:
        """The connection's credentials with a token valid for a while; refreshed when it is
        about to expire, or when it equals `stale` (Google just refused it)."""
        with self.session_factory() as session:
            connection = _usable(session, connection_id, owner_id)
            fresh = self._fresh(connection, stale)
            postgresql = session.get_bind().dialect.name == "postgresql"
        if fresh is not None:
            return fresh
        if postgresql:
            return self._refresh_locked(connection_id, owner_id, stale)
        return self._refresh_claimed(connection_id, owner_id, stale)

    def back_off(self, connection_id: int, seconds: float) -> None:
        """No call on this connection for `seconds` (a later deadline already set wins)."""
        until = utcnow() + timedelta(seconds=seconds)
        with self.session_factory() as session:
            session.execute(
                update(Connection)
                .where(
                    Connection.id == connection_id,
                    or_(Connection.backoff_until.is_(None), Connection.backoff_until < until),
                )
                .values(backoff_until=until)
            )
            session.commit()

    # -- reading ----------------------------------------------------------------------------

    def _fresh(self, connection: Connection, stale: str | None) -> Credentials | None:
        if connection.access_token_encrypted is None:
            return None
        if connection.expires_at is not None and connection.expires_at <= utcnow() + (
            REFRESH_MARGIN
        ):
            return None
        token = self._decrypt(connection.access_token_encrypted)
        if stale is not None and token == stale:
            return None
        return _credentials(connection, token)

    def _decrypt(self, stored: str) -> str:
        try:
            return self.secrets.decrypt(stored)
        except DecryptionError:
            raise ConnectionUnusableError(
                "This connection's tokens cannot be read with this server's keys; reconnect it "
                "on the Connections page."
            ) from None

    # -- refreshing -------------------------------------------------------------------------

    def _refresh_locked(self, connection_id: int, owner_id: int, stale: str | None) -> Credentials:
        """PostgreSQL: whoever holds the row lock refreshes; the others then read its token."""
        with self.session_factory() as session:
            connection = _usable(session, connection_id, owner_id, lock=True)
            fresh = self._fresh(connection, stale)
            if fresh is not None:
                session.commit()
                return fresh
            try:
                granted = self._call_refresh(connection)
            except ReconnectNeededError:
                session.rollback()
                _needs_reconnect(session, connection_id)
                session.commit()
                raise
            _store(connection, granted, self.secrets)
            session.commit()
            return _credentials(connection, str(granted["access_token"]))

    def _refresh_claimed(self, connection_id: int, owner_id: int, stale: str | None) -> Credentials:
        """SQLite: claim the refresh on the token read; losers wait for the winner's token."""
        claim_for = self.settings.outbound_timeout_seconds + CLAIM_EXTRA_SECONDS
        give_up = time.monotonic() + claim_for + CLAIM_EXTRA_SECONDS
        while True:
            with self.session_factory() as session:
                connection = _usable(session, connection_id, owner_id)
                fresh = self._fresh(connection, stale)
                if fresh is not None:
                    return fresh
                now = utcnow()
                read = connection.access_token_encrypted
                claim = session.execute(
                    update(Connection)
                    .where(
                        Connection.id == connection_id,
                        Connection.access_token_encrypted.is_(None)
                        if read is None
                        else Connection.access_token_encrypted == read,
                        or_(
                            Connection.refresh_claimed_until.is_(None),
                            Connection.refresh_claimed_until < now,
                        ),
                    )
                    .values(refresh_claimed_until=now + timedelta(seconds=claim_for))
                    .execution_options(synchronize_session=False)
                )
                claimed = rowcount(claim) == 1
                session.commit()
            if claimed:
                return self._refresh_as_claimer(connection_id, owner_id)
            if time.monotonic() > give_up:
                raise GoogleAPIError("Another step is still refreshing this connection's token.")
            time.sleep(WAIT_STEP_SECONDS)

    def _refresh_as_claimer(self, connection_id: int, owner_id: int) -> Credentials:
        with self.session_factory() as session:
            try:
                connection = _usable(session, connection_id, owner_id)
                granted = self._call_refresh(connection)
            except ReconnectNeededError:
                session.rollback()
                _needs_reconnect(session, connection_id)
                session.commit()
                raise
            except BaseException:
                session.rollback()
                session.execute(
                    update(Connection)
                    .where(Connection.id == connection_id)
                    .values(refresh_claimed_until=None)
                )
                session.commit()
                raise
            _store(connection, granted, self.secrets)
            session.commit()
        return _credentials(connection, str(granted["access_token"]))

    def _call_refresh(self, connection: Connection) -> dict[str, Any]:
        """Google's answer to the connection's refresh token."""
        if connection.refresh_token_encrypted is None:
            raise ReconnectNeededError(
                f"The Google connection {connection.account_email} has no refresh token; "
                "reconnect it on the Connections page."
            )
        refresh_token = self._decrypt(connection.refresh_token_encrypted)
        return token_endpoint.refresh(self.settings, refresh_token, connection.account_email)


def _credentials(connection: Connection, access_token: str) -> Credentials:
    return Credentials(
        connection.id, connection.account_email, tuple(connection.scopes or ()), access_token
    )


def _usable(
    session: Session, connection_id: int, owner_id: int, *, lock: bool = False
) -> Connection:
    """The owner's Google connection, or a step error that names what the user must fix."""
    query = select(Connection).where(
        Connection.id == connection_id,
        Connection.user_id == owner_id,
        Connection.provider == "google",
    )
    connection = session.scalar(query.with_for_update() if lock else query)
    if connection is None:
        raise ConnectionUnusableError(
            f"Google connection {connection_id} does not exist or is not yours."
        )
    if connection.status == ConnectionStatus.NEEDS_RECONNECT:
        raise ReconnectNeededError(
            f"The Google connection {connection.account_email} needs reconnecting on the "
            "Connections page."
        )
    if connection.status == ConnectionStatus.REVOKED:
        raise ConnectionUnusableError(
            f"The Google connection {connection.account_email} was revoked; reconnect it on "
            "the Connections page."
        )
    now = utcnow()
    if connection.backoff_until is not None and connection.backoff_until > now:
        wait = (connection.backoff_until - now).total_seconds()
        raise RateLimitedError(
            f"Google asked to slow down on {connection.account_email}; waiting {wait:.0f} s.",
            retry_after=wait,
        )
    return connection


def _store(connection: Connection, granted: Mapping[str, Any], secrets: SecretBox) -> None:
    connection.access_token_encrypted = secrets.encrypt(str(granted["access_token"]))
    if granted.get("refresh_token"):  # Google may rotate it
        connection.refresh_token_encrypted = secrets.encrypt(str(granted["refresh_token"]))
    connection.expires_at = expiry(granted)
    if granted.get("scope"):
        connection.scopes = sorted(set(str(granted["scope"]).split()))
    connection.refresh_claimed_until = None


def _needs_reconnect(session: Session, connection_id: int) -> None:
    """Google refused the grant: the tokens are useless now; the user must reconnect."""
    session.execute(
        update(Connection)
        .where(Connection.id == connection_id)
        .values(
            status=ConnectionStatus.NEEDS_RECONNECT,
            access_token_encrypted=None,
            refresh_token_encrypted=None,
            refresh_claimed_until=None,
            updated_at=utcnow(),
        )
    )


def expiry(granted: Mapping[str, Any], now: datetime | None = None) -> datetime | None:
    """When a token from a token response expires (`expires_in` seconds from now)."""
    try:
        seconds = float(granted["expires_in"])
    except (KeyError, TypeError, ValueError):
        return None
    return (now or utcnow()) + timedelta(seconds=seconds)
