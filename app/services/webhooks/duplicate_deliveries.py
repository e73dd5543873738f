"""Webhook idempotency: a delivery key seen within its window starts nothing the second time.

The key comes from a header (e.g. X-GitHub-Delivery) or a template over the trigger data. Its
row is inserted in the transaction that creates the execution (lifecycle.start's `record`
hook), under a unique (trigger, key) constraint: of concurrent duplicates one commits, the
others roll back and answer with the winner's execution id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.engine.errors import TemplateError
from app.engine.templating import Renderer, has_template
from app.models import Execution, WebhookDelivery
from app.models.base import rowcount

KEY_LENGTH = 255
_renderer = Renderer(cpu_seconds=0.5)


@dataclass(frozen=True)
class Seen:
    """An earlier delivery of the same key; its execution may have been pruned since."""

    execution_id: int | None


def key_for(spec: str | None, data: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The delivery's key: a header's value or a rendered template; None when it has none
    (then the request is not deduplicated: an event is never dropped for want of a key)."""
    if not spec:
        return None
    if has_template(spec):
        try:
            value: Any = _renderer.render(spec, {"trigger": data}, "idempotency_key", text=True)
        except TemplateError:
            return None
    else:
        value = headers.get(spec.lower())
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if len(text) > KEY_LENGTH:
        text = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return text


def seen(session: Session, trigger_id: int, key: str, now: datetime) -> Seen | None:
    """The live delivery with this key, if any."""
    row = session.execute(
        select(WebhookDelivery.execution_id).where(
            WebhookDelivery.trigger_id == trigger_id,
            WebhookDelivery.key == key,
            WebhookDelivery.expires_at > now,
        )
    ).first()
    return Seen(row.execution_id) if row is not None else None


def recorder(
    trigger_id: int, key: str, now: datetime, window: timedelta
) -> Callable[[Session, Execution], None]:
    """The `record` hook that stores the key with the new execution (replacing an expired one)."""

    def record(session: Session, execution: Execution) -> None:
        session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.trigger_id == trigger_id,
                WebhookDelivery.key == key,
                WebhookDelivery.expires_at <= now,
            )
        )
        session.add(
            WebhookDelivery(
                trigger_id=trigger_id,
                key=key,
                execution_id=execution.id,
                created_at=now,
                expires_at=now + window,
            )
        )

    return record


def prune(session: Session, now: datetime) -> int:
    """Delete expired delivery keys; return how many."""
    expired = delete(WebhookDelivery).where(WebhookDelivery.expires_at <= now)
    deleted = rowcount(session.execute(expired))
    session.commit()
    return deleted
