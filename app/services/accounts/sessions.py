"""Login sessions: start one at login, resolve the cookie's on each request, end them.

A session is a `UserSession` row; the signed cookie carries its id and a 256-bit random token,
of which the row keeps only the sha256 (a leaked signing key alone cannot forge a session).
`resolve` is one primary-key lookup joined to the user; it writes `last_seen_at` at most once
a minute. Ending a session sets `revoked_at`: the next request with its cookie is anonymous.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.models import User, UserSession
from app.models.base import rowcount, utcnow
from app.services.accounts import devices
from app.services.errors import NotFoundError

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100
# last_seen_at is a hint for people ("last seen 3 minutes ago"): write it at most this often.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class StartedSession:
    """A new session and the token for its cookie, which exists only in this object."""

    session_id: int
    token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, user: User, *, user_agent: str = "", ip: str = "") -> StartedSession:
    """Record a login of `user` from this browser; commit."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    user_agent = user_agent[:300]
    row = UserSession(
        user_id=user.id,
        token_hash=_hash(token),
        user_agent=user_agent,
        device=devices.describe(user_agent),
        ip=ip[:45],
    )
    session.add(row)
    session.commit()
    return StartedSession(session_id=row.id, token=token)


def resolve(session: Session, session_id: object, token: object) -> User | None:
    """The user of a live session whose id and token the cookie names, else None. One query
    (the row by primary key, joined to its user); a write at most once a minute."""
    if not isinstance(session_id, int) or not isinstance(token, str):
        return None
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    found = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id == session_id)
    ).first()
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or not hmac.compare_digest(row.token_hash, _hash(token)):
        return None
    now = utcnow()
    if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        session.execute(
            update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
        )
        session.commit()
    return user


def end(session: Session, session_id: int) -> None:
    """End one session (logout); ending an ended session changes nothing."""
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.commit()


def end_owned(session: Session, user: User, session_id: int) -> UserSession:
    """End one of `user`'s sessions ("Sign out" in Settings); another user's id is not found."""
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFoundError(f"session {session_id}")
    row.revoked_at = utcnow()
    session.commit()
    return row


def end_all(session: Session, user: User, *, keep: int | None = None) -> int:
    """End every live session of `user` except `keep` (a password change keeps the one that
    made it); return how many ended. Commits."""
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep)
    ended = session.execute(query.values(revoked_at=utcnow()))
    session.commit()
    return rowcount(ended)


def list_active(session: Session, user: User) -> list[UserSession]:
    """The user's live sessions, most recently seen first."""
    return list(
        session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def prune(session: Session, ended_before: datetime) -> int:
    """Delete sessions that ended before `ended_before` (the scheduler's hourly pass, with the
    retention period); live ones stay. Commits; returns how many went."""
    deleted = session.execute(delete(UserSession).where(UserSession.revoked_at < ended_before))
    session.commit()
    return rowcount(deleted)
