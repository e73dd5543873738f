"""Which step runs a new execution starts with, and where it resumes: the plan of a run, and
of a re-run from the failed step that reuses what ran before it.

An execution starts with a row per top-level step; its containers add rows as they open
(app.engine.program). A re-run from the failed step reuses the runs before it — the outputs
of earlier steps, earlier iterations, the branch a paths step took — matched by step key and
iteration (so a re-run of an edited workflow reuses what it still has), and resumes at the
failed step, in its iteration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.engine import run_if
from app.engine.program import Program, frame_iterations, history_key

# A step run by step key and iteration: (key, ((loop key, index), …) outermost first).
RunKey = tuple[str, tuple[tuple[str, int], ...]]


@dataclass(frozen=True)
class Reused:
    """What a reused step run had: its status (completed, or skipped by its run-if), input and
    output."""

    status: str
    input: Any
    output: Any


def run_key(program: Program, position: int, frame: str) -> RunKey:
    """A step run's key, independent of positions (they change when the workflow is edited)."""
    loops = tuple((program.flat[p]["key"], index) for p, index in frame_iterations(frame))
    return program.flat[position]["key"], loops


def reusable(program: Program, rows: Iterable[Any]) -> dict[RunKey, Reused]:
    """The step runs of an execution (rows with position, frame, status, input, output; of
    `program`, its snapshot) that come before its first failed run, by run key: completed ones
    and those their run-if skipped."""
    ordered = sorted(rows, key=lambda row: history_key(row.frame, row.position))
    found: dict[RunKey, Reused] = {}
    for row in ordered:
        if row.position >= len(program):
            continue
        if row.status == "failed":
            break
        skipped = row.status == "skipped" and _skipped_by_run_if(row.output)
        if row.status == "completed" or skipped:
            status = "skipped" if skipped else "completed"
            found[run_key(program, row.position, row.frame)] = Reused(status, row.input, row.output)
    return found


def _skipped_by_run_if(output: Any) -> bool:
    return isinstance(output, Mapping) and output.get("skipped") == run_if.SKIPPED_BY


def replay(
    program: Program, reuse: Mapping[RunKey, Reused]
) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
    """The step rows a new execution of `program` starts with, and where it starts (None:
    nothing to run). Runs in `reuse` are taken as done, in order, as the engine would go;
    the first run that is not reused is where the execution starts. Rows before it that
    were not reused are skipped (as are disabled steps)."""
    rows: dict[tuple[int, str], dict[str, Any]] = {}

    def create(positions: Iterable[tuple[int, str, str]]) -> None:
        for position, frame, status in positions:
            rows[(position, frame)] = _row(program, position, frame, status)

    create(program.rows_of(program.top, ""))
    outputs: dict[str, Any] = {}
    start = program.start()
    cursor: tuple[int, str] | None = None if start is None else (start, "")
    while cursor is not None:
        position, frame = cursor
        reused = reuse.get(run_key(program, position, frame))
        if reused is None:
            break
        row = rows[cursor]
        row.update(status=reused.status, input=reused.input, output=reused.output)
        ran = reused.status == "completed"
        if ran:
            outputs[program.flat[position]["key"]] = reused.output
        route = program.route(position, frame, reused.output if ran else None, outputs)
        create(route.create)
        for skipped in route.skips:
            rows[skipped]["status"] = "skipped"
        cursor = route.to
    if cursor is not None:
        resume = history_key(cursor[1], cursor[0])
        for (position, frame), row in rows.items():
            if row["status"] == "pending" and history_key(frame, position) < resume:
                row["status"] = "skipped"
    return list(rows.values()), cursor


def _row(program: Program, position: int, frame: str, status: str) -> dict[str, Any]:
    action = program.flat[position]
    return {
        "position": position,
        "frame": frame,
        "address": program.nodes[position].address,
        "action_key": action["key"],
        "action_type": action["type"],
        "status": status,
        "input": None,
        "output": None,
    }
