"""The doorbell's shape: a message `(execution_id, position, attempt, delay[, frame])`.

The database is the source of truth; a doorbell only says "look at this step now". Its frame
(the loop iterations around the step, app.engine.program) is passed only inside loops.
"""

from __future__ import annotations

from collections.abc import Callable

# Ring a doorbell: (execution_id, position, attempt, delay in seconds[, frame]).
Send = Callable[..., None]


def ring(
    send: Send, execution_id: int, position: int, attempt: int, delay: float, frame: str = ""
) -> None:
    """Send a doorbell, with its frame only inside a loop (a top-level step's doorbell is the
    4-argument message it always was)."""
    if frame:
        send(execution_id, position, attempt, delay, frame)
    else:
        send(execution_id, position, attempt, delay)
