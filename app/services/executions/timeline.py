"""The execution page's history: a run's steps in history order (`app.engine.program`'s
`history_key`), nested as the workflow is: a loop's iterations under it, the branches a paths
step took under it.

A loop of 1,000 items has 1,000 iterations of rows; the page shows the first ones, the failed ones
and the one in progress, and says where the others are (`Gap`: "show more" loads a page of them).
So a page reads every row's id, position, frame and status (short columns), counts iterations
from those, and loads whole rows (input, output, attempts) only for the steps it shows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.program import Program, frame_iterations, history_key, iteration_frame
from app.models import Execution, ExecutionStep
from app.services.executions.step_views import (
    BranchRun,
    Gap,
    Item,
    Iteration,
    LoopView,
    StepNode,
    StepView,
    flatten,
    program_of,
)

FIRST_ITERATIONS = 10  # iterations of a loop a page shows from the start
MORE_FAILED = 10  # failed iterations shown beyond those
MORE_LIVE = 2  # iterations in progress shown beyond those
PAGE = 25  # iterations one "show more" loads
PREVIEW_CHARS = 60


class Run(NamedTuple):
    """A step row's short columns: enough to place it and count iterations (a tuple: a page
    reads thousands of them)."""

    id: int
    position: int
    frame: str
    status: str


def iteration_status(statuses: Iterable[str]) -> str:
    """An iteration's state from its steps': failed if one failed, running while one runs or
    some are done and some are still to run, waiting while one waits (for a call, a decision,
    a child run), completed once all completed or were skipped."""
    seen = set(statuses)
    if "failed" in seen:
        return "failed"
    if "running" in seen:
        return "running"
    if "waiting" in seen:
        return "waiting"
    if seen <= {"pending"}:
        return "pending"
    if seen <= {"skipped"}:
        return "skipped"
    if seen <= {"completed", "skipped"}:
        return "completed"
    return "running"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


class Tree:
    """Places the rows of one execution in its program's tree.

    `runs` are the short rows; `windows` names, for a loop (position, frame), the iterations
    to show (start, stop) instead of the default choice."""

    def __init__(
        self,
        program: Program,
        runs: Sequence[Run],
        windows: Mapping[tuple[int, str], tuple[int, int]] | None = None,
    ) -> None:
        self.program = program
        self.at = {(run.position, run.frame): run for run in runs}
        self.windows = dict(windows or {})
        # (loop position, frame of the loop) -> iteration index -> its rows' statuses
        self.statuses: dict[tuple[int, str], dict[int, list[str]]] = defaultdict(
            lambda: defaultdict(list)
        )
        # Each frame once: the rows of one iteration share it.
        by_frame: dict[str, list[str]] = defaultdict(list)
        for run in runs:
            if run.frame:
                by_frame[run.frame].append(run.status)
        for frame, statuses in by_frame.items():
            outer = ""
            for loop, index in frame_iterations(frame):
                self.statuses[(loop, outer)][index].extend(statuses)
                outer = iteration_frame(outer, loop, index)
        self.rows: dict[int, ExecutionStep] = {}
        self._states: dict[tuple[int, str], dict[int, str]] = {}

    # -- which iterations show -----------------------------------------------------------------

    def states(self, loop: int, frame: str) -> dict[int, str]:
        """Each iteration's state, by index (computed once per loop run)."""
        key = (loop, frame)
        if key not in self._states:
            runs = self.statuses.get(key, {})
            self._states[key] = {i: iteration_status(s) for i, s in runs.items()}
        return self._states[key]

    def chosen(self, loop: int, frame: str, count: int) -> list[int]:
        """The iterations shown: a window's, or the first ones, failed ones, running ones."""
        states = self.states(loop, frame)
        known = max(count, max(states, default=-1) + 1)
        window = self.windows.get((loop, frame))
        if window is not None:
            start, stop = window
            return list(range(max(start, 0), min(stop, start + PAGE, known)))
        shown = set(range(min(known, FIRST_ITERATIONS)))
        later = sorted(i for i in states if i >= FIRST_ITERATIONS)
        shown.update([i for i in later if states[i] == "failed"][:MORE_FAILED])
        shown.update([i for i in later if states[i] in ("running", "waiting")][:MORE_LIVE])
        return sorted(shown)

    def wanted(self, positions: Sequence[int] | None = None, frame: str = "") -> set[int]:
        """The ids of the rows the page shows (whole rows are loaded for these only)."""
        found: set[int] = set()
        for position in self.program.top if positions is None else positions:
            run = self.at.get((position, frame))
            if run is None:
                continue
            found.add(run.id)
            node = self.program.nodes[position]
            if node.kind == "loop":
                body = node.lists.get(None, [])
                for index in self.chosen(position, frame, 0):
                    found |= self.wanted(body, iteration_frame(frame, position, index))
            elif node.kind == "paths":
                for inner in node.lists.values():
                    found |= self.wanted(inner, frame)
        return found

    # -- the tree ------------------------------------------------------------------------------

    def nodes(
        self, positions: Sequence[int] | None = None, frame: str = "", items: tuple[Item, ...] = ()
    ) -> list[StepNode]:
        """The steps of a list run in `frame`, with what their containers ran."""
        found: list[StepNode] = []
        for position in self.program.top if positions is None else positions:
            run = self.at.get((position, frame))
            step = self.rows.get(run.id) if run is not None else None
            if step is None:
                continue
            node = self.program.nodes[position]
            name = str(node.action.get("name") or step.action_key)
            view = StepView(step, name, step.address or node.address, node.depth, items)
            shown = StepNode(view)
            if node.kind == "loop":
                shown.loop = self.loop(position, frame, items)
            elif node.kind == "paths":
                shown.branches = self._branches(position, frame, items)
            found.append(shown)
        return found

    def _branches(self, position: int, frame: str, items: tuple[Item, ...]) -> list[BranchRun]:
        action = self.program.nodes[position].action
        names = {b.get("key"): b.get("name") for b in action.get("branches") or []}
        otherwise = action.get("otherwise") or {}
        names["otherwise"] = otherwise.get("name") or "Otherwise"
        runs: list[BranchRun] = []
        for key, inner in self.program.nodes[position].lists.items():
            steps = self.nodes(inner, frame, items)
            if steps:
                runs.append(BranchRun(str(key), str(names.get(key) or key), steps))
        return runs

    def count(self, loop: int, frame: str) -> int:
        """How many items the loop has: its output's count, its input's items, its rows'."""
        run = self.at.get((loop, frame))
        row = self.rows.get(run.id) if run is not None else None
        counted = max(self.statuses.get((loop, frame), {}), default=-1) + 1
        if row is not None and isinstance(row.output, Mapping):
            count = row.output.get("count")
            if isinstance(count, int) and count >= counted:
                return count
        if row is not None and isinstance(row.input, Mapping):
            given = row.input.get("items")
            if isinstance(given, list):
                return max(len(given), counted)
        return counted

    def loop(self, position: int, frame: str, items: tuple[Item, ...] = ()) -> LoopView:
        """A loop's counts and the iterations shown, with gaps for the others."""
        count = self.count(position, frame)
        states = self.states(position, frame)
        tally: dict[str, int] = defaultdict(int)
        for state in states.values():
            tally[state] += 1
        run = self.at.get((position, frame))
        row = self.rows.get(run.id) if run is not None else None
        if not states and row is not None and row.status == "completed":
            tally["completed"] = count  # a loop with an empty body: its items are done
        given = row.input.get("items") if row is not None and isinstance(row.input, Mapping) else []
        given = given if isinstance(given, list) else []
        body = self.program.nodes[position].lists.get(None, [])
        key = self.program.nodes[position].key
        shown: list[Iteration | Gap] = []
        window = self.windows.get((position, frame))
        at = window[0] if window else 0
        end = window[1] if window else count
        for index in self.chosen(position, frame, count) if states else []:
            if index > at:
                shown.append(Gap(at, index))
            inner = iteration_frame(frame, position, index)
            here = (*items, Item(key, index, count))
            preview = _short(given[index]) if index < len(given) else ""
            steps = self.nodes(body, inner, here)
            state = states.get(index, "pending")
            shown.append(Iteration(index, count, inner, state, preview, steps))
            at = index + 1
        if states and at < end:
            shown.append(Gap(at, end))
        return LoopView(position, frame, count, dict(tally), shown)


def _runs(session: Session, execution_id: int, *, under: str | None = None) -> list[Run]:
    stmt = select(
        ExecutionStep.id, ExecutionStep.position, ExecutionStep.frame, ExecutionStep.status
    ).where(ExecutionStep.execution_id == execution_id)
    if under is not None:
        stmt = stmt.where(ExecutionStep.frame.like(f"{under}%"))
    return [Run._make(row) for row in session.execute(stmt)]


def load(session: Session, tree: Tree, ids: set[int]) -> None:
    """Load the whole rows `ids` into the tree."""
    if not ids:
        return
    rows = session.scalars(select(ExecutionStep).where(ExecutionStep.id.in_(sorted(ids))))
    tree.rows.update({row.id: row for row in rows})


def build(session: Session, execution: Execution, program: Program) -> list[StepNode]:
    """The page's tree of an execution; rows the program does not place (a snapshot and rows
    that disagree) come last, in history order."""
    runs = _runs(session, execution.id)
    tree = Tree(program, runs)
    has_loops = any(node.kind == "loop" for node in program.nodes)
    load(session, tree, tree.wanted() if has_loops else {run.id for run in runs})
    nodes = tree.nodes()
    placed = {view.step.id for view in flatten(nodes)}
    strays = [row for row in tree.rows.values() if row.id not in placed]
    strays.sort(key=lambda row: history_key(row.frame, row.position))
    nodes.extend(StepNode(StepView(row, row.action_key, row.address)) for row in strays)
    return nodes


def _items_of(
    session: Session, execution_id: int, program: Program, frame: str
) -> tuple[Item, ...]:
    """The iterations a frame is in, with their loops' item counts (read from the loop rows)."""
    items: list[Item] = []
    outer = ""
    for loop, index in frame_iterations(frame):
        output = session.scalar(
            select(ExecutionStep.output).where(
                ExecutionStep.execution_id == execution_id,
                ExecutionStep.position == loop,
                ExecutionStep.frame == outer,
            )
        )
        count = output.get("count") if isinstance(output, Mapping) else None
        items.append(Item(program.nodes[loop].key, index, count if isinstance(count, int) else 0))
        outer = iteration_frame(outer, loop, index)
    return tuple(items)


def iterations(
    session: Session, execution: Execution, loop: int, frame: str, start: int, stop: int
) -> tuple[LoopView, StepView] | None:
    """Iterations `start`… of the loop at (`loop`, `frame`), a page of them at most, and the
    loop step's view; None when the run has no such loop."""
    program = program_of(execution)
    if not 0 <= loop < len(program) or program.nodes[loop].kind != "loop":
        return None
    prefix = iteration_frame(frame, loop, 0)[:-1]  # "3." or "2.0.3."
    runs = _runs(session, execution.id, under=prefix)
    loop_row = session.scalar(
        select(ExecutionStep).where(
            ExecutionStep.execution_id == execution.id,
            ExecutionStep.position == loop,
            ExecutionStep.frame == frame,
        )
    )
    if loop_row is None:
        return None
    runs.append(Run(loop_row.id, loop, frame, loop_row.status))
    tree = Tree(program, runs, {(loop, frame): (start, stop)})
    body = program.nodes[loop].lists.get(None, [])
    ids: set[int] = set()
    for index in tree.chosen(loop, frame, 0):
        ids |= tree.wanted(body, iteration_frame(frame, loop, index))
    load(session, tree, ids)
    tree.rows[loop_row.id] = loop_row
    outer = _items_of(session, execution.id, program, frame)
    node = program.nodes[loop]
    view = StepView(loop_row, str(node.action.get("name") or node.key), node.address, node.depth)
    return tree.loop(loop, frame, outer), view
