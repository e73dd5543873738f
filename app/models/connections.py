"""OAuth connections to outside accounts (Google), and the OAuth flows under way."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, JSONDoc, enum_column, utcnow


class ConnectionStatus(enum.StrEnum):
    ACTIVE = "active"  # tokens work
    NEEDS_RECONNECT = "needs_reconnect"  # the provider refused the refresh token
    REVOKED = "revoked"  # the user revoked it; tokens deleted


class Connection(Base):
    """A user's authorized account at a provider; tokens are Fernet-encrypted."""

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    account_email: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(
        enum_column(ConnectionStatus), default=ConnectionStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # One process refreshes the access token at a time (the SQLite claim; PostgreSQL locks
    # the row instead); a claim older than this is abandoned.
    refresh_claimed_until: Mapped[datetime | None]
    # The provider asked us to slow down (429/quota): no call on this connection before then.
    backoff_until: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint(
            "user_id", "provider", "account_email", name="uq_connections_user_provider_email"
        ),
        NEVER_REUSE_IDS,
    )


class OAuthState(Base):
    """An authorization request under way, kept server-side so that its `state` is single-use:
    the callback consumes the row, so a replayed callback (even with an old cookie) is refused."""

    __tablename__ = "oauth_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)
