"""What a webhook token names, and the workflow definition an execution snapshots.

A token is read with one light query (`find`). On PostgreSQL what it named at an earlier
request is also kept per process (`Targets`), and the statement that stores the execution
checks, as it stores it, that the token still names that same webhook, enabled, with that same
config and version (`ingress_start.start_id(guard=...)`): a delivery then costs one statement, and
no delivery is ever accepted on a stale read. Every refusal (404, 405, 401, 429, 400, 413)
made on a kept target is confirmed against a fresh read before it is answered (the receiver).

The definition is cached per process by (workflow id, version, creation time: SQLite may give
a deleted workflow's id to the next one).

Every change of a definition (steps, trigger config, name) goes through
`crud.update_workflow`, which bumps the version, so a cached definition is never stale;
what may change without a new version (enabled, the token itself, the trigger's config that
auth reads) comes from the fresh row. The cached workflows are detached ORM objects, fully
loaded, that `lifecycle.start` only reads.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session, defer, joinedload

from app.models import Action, Trigger, Workflow, pg_autocommit
from app.services.errors import NotFoundError
from app.triggers.webhook import WebhookConfig

MAX_TOKEN_LENGTH = 64
CACHE_SIZE = 512
TARGETS_SIZE = 4096


@dataclass(frozen=True)
class Target:
    """The webhook a token names, as stored right now."""

    trigger_id: int
    workflow_id: int
    enabled: bool
    version: int
    created_at: datetime
    config: dict[str, Any]

    @property
    def definition_key(self) -> tuple[int, int, datetime]:
        return (self.workflow_id, self.version, self.created_at)


@dataclass(frozen=True)
class Kept:
    """A target read at an earlier request, with its config parsed once, and the guard the
    insert checks it with (`ingress_start.start_id`), built once too."""

    target: Target
    config: WebhookConfig
    guard: dict[str, Any]


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A bounded map, least recently used entries dropped past `size` (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)


class Targets:
    """Targets by token, as read at an earlier request."""

    def __init__(self, size: int = TARGETS_SIZE) -> None:
        self._kept: _Lru[str, Kept] = _Lru(size)

    def get(self, token: str) -> Kept | None:
        return self._kept.get(token)

    def keep(self, token: str, target: Target, config: WebhookConfig) -> None:
        guard = {
            "guard_token": token,
            "guard_trigger_id": target.trigger_id,
            "guard_created_at": target.created_at,
            "guard_config": json.dumps(target.config),
        }
        self._kept.put(token, Kept(target, config, guard))

    def forget(self, token: str) -> None:
        self._kept.pop(token)


# Built once, on the tables (not the ORM entities: no ORM compile step per execution), because
# constructing the statement costs more than running it.
_TRIGGERS = cast(Table, Trigger.__table__)
_WORKFLOWS = cast(Table, Workflow.__table__)
_FIND = (
    select(
        _TRIGGERS.c.id,
        _TRIGGERS.c.workflow_id,
        _WORKFLOWS.c.enabled,
        _WORKFLOWS.c.version,
        _WORKFLOWS.c.created_at,
        _TRIGGERS.c.config,
    )
    .join(_WORKFLOWS, _WORKFLOWS.c.id == _TRIGGERS.c.workflow_id)
    .where(_TRIGGERS.c.webhook_token == bindparam("token"), _TRIGGERS.c.type == "webhook")
)
_FIND_PG = pg_autocommit.prepare(_FIND)  # the same, straight to the driver on PostgreSQL


def find(session: Session, token: str) -> Target:
    """The webhook trigger with this token (enabled or not), or NotFoundError."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFoundError("No webhook at this address.")
    engine = pg_autocommit.engine_of(session)
    if engine is not None:
        row = pg_autocommit.one(engine, _FIND_PG, {"token": token})
    else:
        row = session.connection().execute(_FIND, {"token": token}).first()
    if row is None:
        raise NotFoundError("No webhook at this address.")
    return Target(row[0], row[1], bool(row[2]), int(row[3]), row[4], dict(row[5]))


class Definitions:
    """Detached workflows with their trigger and steps, by (id, version, created_at); least
    recently used ones are dropped past `size`."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._cache: _Lru[tuple[int, int, datetime], Workflow] = _Lru(size)

    def get(self, session: Session, target: Target) -> Workflow:
        """The definition `target` names, loaded once per process."""
        cached = self._cache.get(target.definition_key)
        if cached is not None:
            return cached
        workflow = (
            session.scalars(
                select(Workflow)
                .where(Workflow.id == target.workflow_id)
                .options(
                    joinedload(Workflow.trigger).defer(Trigger.sample_data),
                    joinedload(Workflow.actions).defer(Action.sample_output),
                    defer(Workflow.description),
                )
            )
            .unique()
            .one()
        )
        session.expunge(workflow)  # the trigger and the steps go with it (cascade)
        self._cache.put((workflow.id, workflow.version, workflow.created_at), workflow)
        return workflow


definitions = Definitions()
targets = Targets()
