"""Lease heartbeat: while a worker runs steps of an execution, it keeps the lease fresh.

Recovery treats an execution whose lease expired as abandoned (a lost message or a dead
worker). A step that legitimately runs longer than the lease must not be taken for dead, so
each process extends the leases of the executions it is running every third of a lease. A
killed or frozen process stops beating, and recovery takes over after one lease.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Engine, bindparam, update

from app.engine.ledger import sql
from app.models.base import utcnow

log = logging.getLogger(__name__)

_extend = (
    update(sql.E)
    .where(sql.E.c.id.in_(bindparam("ids", expanding=True)), sql.E.c.status == "running")
    .values(lease_expires_at=bindparam("lease"))
)


class Heartbeat:
    """Extends the leases of in-flight executions from one background thread per process."""

    def __init__(self, engine: Engine, lease: timedelta) -> None:
        self.engine = engine
        self.lease = lease
        self.interval = max(lease.total_seconds() / 3, 0.05)
        self._running: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def running(self, execution_id: int) -> Iterator[None]:
        """Keep `execution_id`'s lease fresh for the duration of the block."""
        with self._lock:
            self._running[execution_id] += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._beat, name="stepline-heartbeat", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._running[execution_id] -= 1
                if self._running[execution_id] <= 0:
                    del self._running[execution_id]

    def _beat(self) -> None:
        stop = threading.Event()
        while not stop.wait(self.interval):
            with self._lock:
                ids = list(self._running)
                if not ids:  # idle: the thread ends; the next run starts a new one
                    self._thread = None
                    return
            try:
                with self.engine.begin() as connection:
                    connection.execute(_extend, {"ids": ids, "lease": utcnow() + self.lease})
            except Exception:  # the database is away: recovery decides after the lease
                log.warning(
                    "could not extend the leases of %d executions",
                    len(ids),
                    extra={"execution_ids": ids},
                )
