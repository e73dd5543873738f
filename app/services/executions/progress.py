"""How far a running execution has gone, in words for the list: "step 3 of 5 · item 120 of
1,000" (the top-level step its cursor is in, and the iteration of each loop around it).

The cursor is `executions.position` and `.frame`; its row's `address` names the top-level step
("4/b/2" is in step 4), each loop row's `output.count` its item count (while a loop iterates its
output is `{"count": n, "items": []}`: small). Two short statements for all the running rows of
a page: the top-level step counts (the length of the snapshot's list, computed by the database)
and the rows at the cursors and of the loops around them, by their unique key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, literal_column, select, tuple_
from sqlalchemy.orm import Session

from app.engine.program import frame_iterations, iteration_frame
from app.models import Execution, ExecutionStep

# The number of top-level steps of a snapshot, by dialect.
TOP_LEVEL_COUNT = {
    "postgresql": "jsonb_array_length(executions.snapshot->'actions')",
    "sqlite": "json_array_length(executions.snapshot, '$.actions')",
}

Cursor = tuple[int, int, str]  # execution id, position, frame


def _top_counts(session: Session, ids: list[int]) -> dict[int, int]:
    dialect = session.get_bind().dialect.name
    if dialect in TOP_LEVEL_COUNT:
        count: ColumnElement[int] = literal_column(TOP_LEVEL_COUNT[dialect], Integer).label("n")
        rows = session.execute(select(Execution.id, count).where(Execution.id.in_(ids))).all()
        return {row.id: int(row.n or 0) for row in rows}
    found = session.execute(select(Execution.id, Execution.snapshot).where(Execution.id.in_(ids)))
    return {row.id: len((row.snapshot or {}).get("actions") or []) for row in found}


def _loops(frame: str) -> list[tuple[int, str]]:
    """The loop rows around a frame: (loop position, the frame the loop ran in), outermost
    first."""
    found: list[tuple[int, str]] = []
    outer = ""
    for loop, index in frame_iterations(frame):
        found.append((loop, outer))
        outer = iteration_frame(outer, loop, index)
    return found


def _count(output: Any) -> int | None:
    count = output.get("count") if isinstance(output, Mapping) else None
    return count if isinstance(count, int) else None


def describe(session: Session, cursors: Sequence[Cursor]) -> dict[int, str]:
    """ "step 3 of 5 · item 120 of 1,000" for each running execution's cursor, by id."""
    if not cursors:
        return {}
    totals = _top_counts(session, [c[0] for c in cursors])
    keys = {(e, p, f) for e, p, f in cursors}
    for execution_id, _position, frame in cursors:
        keys.update((execution_id, loop, outer) for loop, outer in _loops(frame))
    S = ExecutionStep
    # By their unique key, as one expanding parameter: an OR of 25 ANDs cost SQLAlchemy more
    # CPU to build and key for its cache (about 1.5 ms a poll) than the database to run.
    where = tuple_(S.execution_id, S.position, S.frame).in_(sorted(keys))
    rows = session.execute(
        select(S.execution_id, S.position, S.frame, S.address, S.output).where(where)
    )
    found = {(r.execution_id, r.position, r.frame): r for r in rows}
    told: dict[int, str] = {}
    for execution_id, position, frame in cursors:
        at = found.get((execution_id, position, frame))
        address = at.address if at is not None and at.address else str(position + 1)
        top = address.split("/")[0]
        parts = [f"step {top} of {totals.get(execution_id, '?')}"]
        for (loop, outer), (_, index) in zip(_loops(frame), frame_iterations(frame), strict=True):
            loop_row = found.get((execution_id, loop, outer))
            count = _count(loop_row.output) if loop_row is not None else None
            parts.append(f"item {index + 1:,} of {count:,}" if count else f"item {index + 1:,}")
        told[execution_id] = " · ".join(parts)
    return told
