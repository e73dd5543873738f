"""What a move changes in the tree besides the cursor, in the record's transaction: the rows a
container opens (the body of every iteration of a loop, the branches a paths step took), the
rows a stop inside a container skips, and the loops whose last iteration ended, whose output
becomes the list of each iteration's last output (app.engine.attempts.Flow).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, text

from app.engine.attempts import Claim, Flow, Run
from app.engine.ledger import sql
from app.engine.program import Program, frame_numbers, frame_prefixes
from app.models import StepStatus, storable


@dataclass(frozen=True)
class Limits:
    """A loop's final output is at most `max_output` bytes; an execution has at most
    `max_runs` step runs (rows), so loops in loops cannot grow it without bound."""

    max_output: int
    max_runs: int


def apply(
    connection: Connection, claim: Claim, flow: Flow, limits: Limits
) -> tuple[dict[int, Any], str | None]:
    """Create, skip and close as `flow` says, after the record of `claim`'s step. Returns the
    closed loops' outputs by position, and an error that fails the run: the step's container
    would open more runs than `limits.max_runs` allows (the step is then `failed`, nothing is
    created), or a loop's output is over `limits.max_output` (that loop is then `failed`)."""
    run = claim.run
    execution_id = run.execution_id
    program = run.program
    if flow.create:
        ids = sql.params({"execution_id": execution_id})
        runs = connection.execute(sql.count_runs, ids).scalar_one() + len(flow.create)
        if runs > limits.max_runs:
            error = (
                f"This step would bring the run to {runs:,} step runs, over the cap of "
                f"{limits.max_runs:,} (STEPLINE_MAX_STEP_RUNS)."
            )
            _end(connection, execution_id, claim.position, claim.frame, None, "failed", error)
            return {}, f"Step {program.flat[claim.position]['key']!r} failed: {error}"
        _create(connection, execution_id, program, flow.create)
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
        status, too_large = StepStatus.COMPLETED, None
        if size > limits.max_output:
            status = StepStatus.FAILED
            too_large = (
                f"The loop's output (the last output of each of its {count:,} iterations) is "
                f"{size:,} bytes, over the cap of {limits.max_output:,} bytes."
            )
            failure = failure or f"Step {program.flat[position]['key']!r} failed: {too_large}"
            output = {"count": count, "items": [], "failed": output["failed"]}
        _end(connection, execution_id, position, frame, output, status, too_large)
        closed[position] = output
    return closed, failure


# A loop's body rows for every iteration in one statement (PostgreSQL): JSON in, no
# per-row parameters.
_CREATE_PG = text(
    """
    INSERT INTO execution_steps (
        execution_id, position, frame, address, action_key, action_type, status, attempts,
        attempt_log
    )
    SELECT :execution_id, r.position, r.frame, r.address, r.action_key, r.action_type,
        r.status, 0, '[]'::jsonb
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
        position integer, frame text, address text, action_key text, action_type text,
        status text
    )
    """
)


def _create(
    connection: Connection,
    execution_id: int,
    program: Program,
    create: tuple[tuple[int, str, str], ...],
) -> None:
    rows = [
        {
            "position": position,
            "frame": frame,
            "address": program.nodes[position].address,
            "action_key": program.flat[position]["key"],
            "action_type": program.flat[position]["type"],
            "status": status,
        }
        for position, frame, status in create
    ]
    if connection.dialect.name == "postgresql":
        connection.execute(_CREATE_PG, {"execution_id": execution_id, "rows": json.dumps(rows)})
        return
    for row in rows:
        row.update(execution_id=execution_id, attempts=0, attempt_log=[])
    connection.execute(insert(sql.S), rows)


def _end(
    connection: Connection,
    execution_id: int,
    position: int,
    frame: str,
    output: Any,
    status: str,
    error: str | None,
) -> None:
    """Set a container step's final output, status and error."""
    values = {
        "execution_id": execution_id,
        "position": position,
        "frame": frame,
        "output": output,
        "status": status,
        "error": error,
    }
    connection.execute(sql.close_loop, sql.params(values))


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
