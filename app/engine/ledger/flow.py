"""What a move changes in the tree besides the cursor, in the record's transaction: the rows a
container opens (the body of every iteration of a loop, the branches a paths step took), the
rows a stop inside a container skips, and the loops whose last iteration ended, whose output
becomes the list of each iteration's last output (app.engine.attempts.Flow).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert

from app.engine.attempts import Flow, Run
from app.engine.ledger import sql
from app.engine.program import frame_numbers, frame_prefixes
from app.models import StepStatus, storable


def apply(
    connection: Connection, execution_id: int, run: Run, flow: Flow, max_output: int
) -> tuple[dict[int, Any], str | None]:
    """Create, skip and close as `flow` says. Returns the closed loops' outputs by position,
    and the error of a loop whose output is over `max_output` (that loop is then `failed`)."""
    program = run.program
    if flow.create:
        rows = [
            {
                "execution_id": execution_id,
                "position": position,
                "frame": frame,
                "address": program.nodes[position].address,
                "action_key": program.flat[position]["key"],
                "action_type": program.flat[position]["type"],
                "status": status,
                "attempts": 0,
                "attempt_log": [],
            }
            for position, frame, status in flow.create
        ]
        connection.execute(insert(sql.S), rows)
    for position, frame in flow.skips:
        ids = {"execution_id": execution_id, "position": position, "frame": frame}
        connection.execute(sql.skip_step, sql.params(ids))
    closed: dict[int, Any] = {}
    failure = None
    for position, frame in flow.closes:
        count = int((run.outputs.get(program.flat[position]["key"]) or {}).get("count") or 0)
        output = loop_output(
            count, frame, position, _iterations(connection, execution_id, frame, position)
        )
        size = len(storable.dumps(output))
        status, error = StepStatus.COMPLETED, None
        if size > max_output:
            status = StepStatus.FAILED
            error = (
                f"The loop's output (the last output of each of its {count:,} iterations) is "
                f"{size:,} bytes, over the cap of {max_output:,} bytes."
            )
            failure = failure or error
            output = {"count": count, "items": [], "failed": output["failed"]}
        values = {
            "execution_id": execution_id,
            "position": position,
            "frame": frame,
            "output": output,
            "status": status,
            "error": error,
        }
        connection.execute(sql.close_loop, sql.params(values))
        closed[position] = output
    return closed, failure


def _iterations(
    connection: Connection, execution_id: int, frame: str, position: int
) -> Iterable[Any]:
    prefix = f"{frame}.{position}." if frame else f"{position}."
    values = {"execution_id": execution_id, "prefix": f"{prefix}%"}
    return connection.execute(sql.load_iterations, sql.params(values)).all()


def loop_output(count: int, frame: str, position: int, rows: Iterable[Any]) -> dict[str, Any]:
    """A loop's final output from its iterations' step rows (position, frame, status, output):
    `items`, each iteration's last completed output at the iteration's own level (a step in a
    branch counts; a step inside a nested loop does not: that loop's own output does), None
    when none completed; `failed`, the iterations in which a step failed."""
    depth = len(frame_numbers(frame)) + 2
    items: list[Any] = [None] * count
    last_position = [-1] * count
    failed: set[int] = set()
    for row in rows:
        numbers = frame_numbers(row.frame)
        if len(numbers) < depth or numbers[depth - 2] != position:
            continue
        index = numbers[depth - 1]
        if index >= count:
            continue
        if row.status == StepStatus.FAILED:
            failed.add(index)
        if len(numbers) == depth and row.status == StepStatus.COMPLETED:
            if row.position > last_position[index]:
                items[index], last_position[index] = row.output, row.position
    return {"count": count, "items": items, "failed": len(failed)}


def frame_values(frame: str) -> dict[str, str]:
    """The FRAMES parameters of the statements that read what a step in `frame` sees."""
    seen = frame_prefixes(frame)
    seen += [seen[-1]] * (len(sql.FRAMES) - len(seen))
    return {name.removeprefix("p_"): value for name, value in zip(sql.FRAMES, seen, strict=True)}


def load_loops(connection: Connection, run: Run, frame: str) -> None:
    """Load the lists of the loops around `frame` that `run` has not loaded yet."""
    if not run.missing_loops(frame):
        return
    values = {"execution_id": run.execution_id, **frame_values(frame)}
    for row in connection.execute(sql.load_loop_inputs, sql.params(values)):
        items = (row.input or {}).get("items")
        run.loop_items[(row.position, row.frame)] = items if isinstance(items, list) else []
