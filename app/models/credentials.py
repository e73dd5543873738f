"""Credentials: a user's named secrets for a service (API keys, bot tokens, SMTP logins).

The kind's fields are stored as one Fernet token of their JSON (`data_encrypted`, the app's
SecretBox); nothing decrypted is ever stored or shown. The kinds are app/credentials/.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, JSONDoc, utcnow


class Credential(Base):
    """One credential of one kind (`http_bearer`, `smtp`…), named uniquely per user and kind."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    data_encrypted: Mapped[str] = mapped_column(Text)
    # Requests per second / minute this credential may make ({"per_second", "per_minute"}).
    budget: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, nullable=True)
    last_tested_at: Mapped[datetime | None]
    last_test_ok: Mapped[bool | None]
    last_test_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("user_id", "kind", "name", name="uq_credentials_user_kind_name"),
        NEVER_REUSE_IDS,
    )
