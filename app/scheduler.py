"""The scheduler loop: recovery of stalled executions and daily retention.

Production runs it as `flask scheduler` (one or more processes; every claim is conditional);
the embedded default runs it on a thread of the web process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from app import runtime as runtimes
from app.engine.recovery import recover
from app.engine.runner import Send
from app.services import retention

log = logging.getLogger(__name__)


class Scheduler:
    """Runs each periodic job when it is due; `tick()` is one pass."""

    def __init__(
        self,
        runtime: runtimes.Runtime,
        send: Send,
        *,
        recovery_every: float = 5.0,
        retention_every: float = 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.send = send
        self.clock = clock
        self.jobs: list[tuple[float, Callable[[], object]]] = [
            (recovery_every, self.recover),
            (retention_every, self.prune),
        ]
        self._due = [0.0 for _ in self.jobs]

    def recover(self) -> int:
        lease = timedelta(seconds=float(self.runtime.settings["EXECUTION_LEASE_SECONDS"]))
        return recover(self.runtime.session_factory, self.runtime.runner, lease)

    def prune(self) -> int:
        days = int(self.runtime.settings["RETENTION_DAYS"])
        with self.runtime.session_factory() as session:
            return retention.prune(session, timedelta(days=days))

    def tick(self) -> None:
        now = self.clock()
        for index, (every, job) in enumerate(self.jobs):
            if now >= self._due[index]:
                self._due[index] = now + every
                try:
                    job()
                except Exception:  # a failing job must not stop the loop; it runs again
                    log.exception("scheduler job %s failed", getattr(job, "__name__", job))

    def run_forever(self, stop: threading.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            self.tick()
            stop.wait(interval)
