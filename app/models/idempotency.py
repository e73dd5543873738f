"""Idempotency keys of API requests: a retried request answers what the first one did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, JSONDoc, utcnow


class IdempotencyKey(Base):
    """One `Idempotency-Key` a user sent, and the response of its first request.

    The row is written before the request's work starts (so a concurrent duplicate finds it)
    and completed with the response after that work committed; it expires after 24 hours."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # sha256 of the request (method, path, body): the key may not be reused for another one.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # None while the first request is still being processed.
    status_code: Mapped[int | None]
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_id_key"),)
