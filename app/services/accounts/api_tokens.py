"""API tokens: issue (the secret is shown once), list, revoke, and authenticate a bearer value.

Only a token's sha256 is stored, with a short visible prefix so that people can tell their
tokens apart. A token has a scope (`read`: GET and HEAD only; `write`: everything) and may expire;
an expired token fails like a revoked one. Every secret is `stp_` plus 43 URL-safe base64
characters, so that secret scanners can recognise a leaked one (`stp_[A-Za-z0-9_-]{43}`).
A token is 256 random bits, so a fast unsalted hash is enough: there is nothing to brute-force,
and the lookup by hash is one indexed query.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ApiToken, User
from app.models.base import utcnow
from app.services.errors import NotFoundError, found_id

SCHEME = "stp_"
# What a token may do: `read` only reads (GET, HEAD); `write` does everything.
READ, WRITE = "read", "write"
SCOPES = (READ, WRITE)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_EXPIRY_DAYS = 3650
# What the settings page shows of a token: the scheme and 8 characters (48 of 256 bits).
PREFIX_LENGTH = len(SCHEME) + 8
SECRET_BYTES = 32
# A plausible token is the scheme plus 43 url-safe characters; cap what we bother hashing.
MAX_TOKEN_LENGTH = 200
NAME_MAX_LENGTH = 120
# last_used_at is a hint for people, not an audit log: write it at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(Exception):
    """A token could not be issued; `field` names the form field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class IssuedToken:
    """A newly created token and its plaintext secret, which exists only in this object."""

    token: ApiToken
    secret: str


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    user: User,
    name: str,
    *,
    scope: str = WRITE,
    expires_in_days: int | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """Issue a token named `name` for `user`, with a scope and an optional lifetime in days;
    the returned secret is never stored."""
    name = name.strip()
    if not name:
        raise TokenError("Give the token a name, e.g. the script that will use it.", "name")
    if len(name) > NAME_MAX_LENGTH:
        raise TokenError(f"Use at most {NAME_MAX_LENGTH} characters.", "name")
    if scope not in SCOPES:
        raise TokenError("Choose `read` (GET only) or `write` (everything).", "scope")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise TokenError(
            f"Give a number of days from 1 to {MAX_EXPIRY_DAYS}, or none to never expire.",
            "expires_in_days",
        )
    now = now or utcnow()
    secret = SCHEME + secrets.token_urlsafe(SECRET_BYTES)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:PREFIX_LENGTH],
        scope=scope,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(token)
    session.commit()
    return IssuedToken(token=token, secret=secret)


def is_expired(token: ApiToken, now: datetime | None = None) -> bool:
    return token.expires_at is not None and token.expires_at <= (now or utcnow())


def allows(token: ApiToken, method: str) -> bool:
    """Whether the token's scope lets it make a request with this HTTP method."""
    return token.scope == WRITE or method.upper() in READ_METHODS


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens that are not revoked (expired ones too, to be seen and revoked),
    newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def get_token_or_404(session: Session, token_id: int, *, owner: User) -> ApiToken:
    """The owner's token with this id; another user's token is as missing as an unknown id."""
    found_id(token_id, "No such token.")
    token = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == owner.id)
    )
    if token is None:
        raise NotFoundError("No such token.")
    return token


def revoke_token(session: Session, token: ApiToken) -> ApiToken:
    """Revoke a token; it fails from the next request on. Revoking twice changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
    return token


def authenticate(session: Session, secret: str, now: datetime | None = None) -> ApiToken | None:
    """The live (not revoked, not expired) token whose secret this is, or None; refreshes
    last_used_at now and then.

    The row is found by the hash of the presented value, so no stored secret is ever compared
    byte by byte with attacker input; the final check is constant-time all the same."""
    if not secret.startswith(SCHEME) or len(secret) > MAX_TOKEN_LENGTH:
        return None
    digest = hash_token(secret)
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
    )
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    now = now or utcnow()
    if is_expired(token, now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.commit()
    return token
