"""Dramatiq actors. Thin: they hand the message to the engine.

`dramatiq app.tasks` runs them in worker processes; in the embedded default they run on
worker threads inside the web process.
"""

from __future__ import annotations

from typing import Any

import dramatiq

from app import (
    broker,
    runtime,
)


@dramatiq.actor(
    actor_name="stepline.run_step",  # stored in queued messages: never rename
    queue_name=broker.QUEUE,
    max_retries=0,
    time_limit=15 * 60 * 1000,
)
def run_step(execution_id: int, position: int, attempt: int) -> None:
    """Run the execution from `position`, attempt `attempt` (a doorbell; duplicates are no-ops)."""
    runtime.get().runner.run(execution_id, position, attempt)


ACTORS = (run_step,)


def send_step(execution_id: int, position: int, attempt: int, delay: float = 0.0) -> None:
    """Ring the doorbell for a step, after `delay` seconds."""
    options: dict[str, Any] = {"delay": int(delay * 1000)} if delay > 0 else {}
    run_step.send_with_options(args=(execution_id, position, attempt), **options)


def queue_depth() -> int | None:
    """Messages waiting (ready and delayed) in the step queue, when the broker can tell."""
    current = dramatiq.get_broker()
    client = getattr(current, "client", None)
    if client is None:
        queues = getattr(current, "queues", {})
        queue = queues.get(broker.QUEUE)
        return queue.qsize() if queue is not None else 0
    namespace = current.namespace  # type: ignore[attr-defined]
    return int(client.hlen(f"{namespace}:{broker.QUEUE}.msgs"))
