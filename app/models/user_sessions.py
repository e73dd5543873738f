"""Login sessions: one row per login, named by the signed session cookie.

The cookie carries the row's id and a random token; only the token's sha256 is stored. A request is
logged in while its row exists, matches the token and is not revoked: logout, a password change
and "Sign out" revoke rows, which ends the session at once wherever its cookie was copied.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, utcnow


class UserSession(Base):
    """One logged-in browser (or a copy of its cookie)."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    device: Mapped[str] = mapped_column(String(120), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_user_sessions_user_revoked", "user_id", "revoked_at"),
        NEVER_REUSE_IDS,
    )
