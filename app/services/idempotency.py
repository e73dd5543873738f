"""Idempotency keys: a request retried with the same key within 24 h gets the first answer.

The key is reserved (a committed row) before the request's work starts, so a duplicate that
arrives meanwhile finds it and is refused with ConflictError instead of doing the work twice.
Once the work has committed, the row stores the response, which later duplicates replay. A
request that fails releases its key, so a corrected retry may use it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import IdempotencyKey
from app.models.base import rowcount, utcnow
from app.services.errors import ConflictError, InvalidInputError

TTL = timedelta(hours=24)
HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Reservation:
    """A key this request holds until it completes or releases it."""

    id: int


@dataclass(frozen=True)
class Replay:
    """The stored answer of the key's first request."""

    status_code: int
    body: dict[str, Any] | None
    location: str | None


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request: method, path and body bytes."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def reserve(
    session: Session, user_id: int, key: str, print_: str, now: datetime | None = None
) -> Reservation | Replay:
    """Hold `key` for this request, or return the stored answer of its first request.

    Raises InvalidInputError if the key was used for a different request, and ConflictError while
    the first request is still being processed."""
    now = now or utcnow()
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.expires_at <= now
        )
    )
    row = IdempotencyKey(
        user_id=user_id, key=key, fingerprint=print_, created_at=now, expires_at=now + TTL
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
    else:
        return Reservation(row.id)
    existing = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if existing is not None and existing.fingerprint != print_:
        raise InvalidInputError(
            "This Idempotency-Key was already used for a different request; use a new key.",
            field=HEADER,
        )
    if existing is None or existing.status_code is None:
        raise ConflictError(
            "A request with this Idempotency-Key is still being processed; retry shortly."
        )
    return Replay(existing.status_code, existing.response, existing.location)


def stage(
    session: Session,
    reservation: Reservation,
    status_code: int,
    body: dict[str, Any] | None,
    location: str | None = None,
) -> None:
    """Write the answer into the session's transaction, so that it commits with the work it
    answers for (or not at all): no crash can leave work done and its key unanswered."""
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == reservation.id)
        .values(status_code=status_code, response=body, location=location)
    )


def complete(
    session: Session,
    reservation: Reservation,
    status_code: int,
    body: dict[str, Any] | None,
    location: str | None = None,
) -> None:
    """Store the answer that later requests with the key will replay."""
    stage(session, reservation, status_code, body, location)
    session.commit()


def release(session: Session, reservation: Reservation) -> None:
    """Give the key up after a failed request, unless its answer was committed (the work was
    done and something failed after it): then retries replay that answer."""
    session.rollback()
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.id == reservation.id, IdempotencyKey.status_code.is_(None)
        )
    )
    session.commit()


def prune(session: Session, now: datetime | None = None) -> int:
    """Delete every expired key; return how many (for a periodic clean-up)."""
    result = session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow()))
    )
    session.commit()
    return rowcount(result)
