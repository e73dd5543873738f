"""Accounts and API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.models.base import NEVER_REUSE_IDS, Base, utcnow

PASSWORD_HASH_METHOD = "scrypt"  # werkzeug's notation; settings may name cheaper parameters


class User(Base):
    """A person who owns workflows, connections and tokens."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = NEVER_REUSE_IDS

    # Flask-Login's protocol, written out so that models need no Flask import.
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    def set_password(self, password: str, method: str = PASSWORD_HASH_METHOD) -> None:
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class ApiToken(Base):
    """A bearer token for the JSON API; only its sha256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # `read`: GET and HEAD only; `write`: every method (app.services.accounts.api_tokens.SCOPES).
    scope: Mapped[str] = mapped_column(String(16), default="write", server_default="write")
    # Past this time the token fails like a revoked one; None: it never expires.
    expires_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_api_tokens_user_created", "user_id", "created_at"),
        NEVER_REUSE_IDS,
    )

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utcnow()
