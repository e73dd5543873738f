"""What the execution page shows of a run, as data: each step run with where it is in the tree
and the iterations it ran in, a loop's iterations and counts, the branches a paths step took
(built by `timeline`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from app.engine.program import Program
from app.models import Execution, ExecutionStatus, ExecutionStep
from app.services.executions import links
from app.services.executions.waiting import Waiting, first_of

# The words of an iteration's state in a loop's counts, in the order they are counted.
TALLY_WORDS = (
    ("completed", "completed"),
    ("failed", "failed"),
    ("running", "in progress"),
    ("waiting", "waiting"),
    ("pending", "not started"),
    ("skipped", "not run"),
)


@dataclass(frozen=True)
class Item:
    """One loop iteration around a step: the loop's key, the 0-based index, the item count."""

    loop: str
    index: int
    count: int

    @property
    def text(self) -> str:
        return f"item {self.index + 1:,} of {self.count:,}"


@dataclass(frozen=True)
class StepView:
    """A step run with the name it had in the snapshot, where it is in the tree ("4/b/2"),
    how many containers are around it and the iterations it ran in (outermost first)."""

    step: ExecutionStep
    name: str
    address: str = ""
    depth: int = 0
    items: tuple[Item, ...] = ()

    @property
    def label(self) -> str:
        """The address people read: "4/b/2" (rows from before containers: the position)."""
        return self.address or self.step.address or str(self.step.position + 1)

    @property
    def iteration_text(self) -> str:
        """ "item 3 of 37" (nested: "item 3 of 37 · item 2 of 4"); empty outside loops."""
        return " · ".join(item.text for item in self.items)

    @property
    def duration(self) -> float | None:
        if self.step.started_at is None or self.step.finished_at is None:
            return None
        return (self.step.finished_at - self.step.started_at).total_seconds()


@dataclass(frozen=True)
class Gap:
    """Iterations `start` to `stop` - 1 of a loop, not shown."""

    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass
class Iteration:
    """One iteration of a loop: its state (from its steps'), the item, its steps."""

    index: int
    count: int
    frame: str
    status: str
    preview: str
    steps: list[StepNode]

    @property
    def label(self) -> str:
        return f"Item {self.index + 1:,} of {self.count:,}"

    @property
    def open(self) -> bool:
        """Unfolded at first: the iteration that failed, is running or waits."""
        return self.status in ("failed", "running", "waiting")


@dataclass
class LoopView:
    """A loop step's iterations (some shown, the others as gaps) and their counts."""

    position: int
    frame: str
    count: int
    tally: dict[str, int]
    iterations: list[Iteration | Gap]

    @property
    def summary(self) -> str:
        """ "37 items · 36 completed · 1 failed"."""
        parts = [f"{self.count:,} item{'s' if self.count != 1 else ''}"]
        for status, words in TALLY_WORDS:
            if self.tally.get(status):
                parts.append(f"{self.tally[status]:,} {words}")
        return " · ".join(parts)


@dataclass
class BranchRun:
    """A branch a paths step took, with the steps it ran."""

    key: str
    name: str
    steps: list[StepNode]


@dataclass
class StepNode:
    """A step of the page's tree: its run, and a container's iterations or branches."""

    view: StepView
    loop: LoopView | None = None
    branches: list[BranchRun] = field(default_factory=list)


@dataclass(frozen=True)
class ExecutionDetail:
    """The execution page: the run, its steps in history order (those shown), the tree they
    form, and the runs linked to it."""

    execution: Execution
    steps: list[StepView]
    reruns: list[tuple[int, str]]
    current_version: int | None = None  # the workflow's version now (the run pins its own)
    tree: list[StepNode] = field(default_factory=list)
    # A child run: the run whose step started it; the runs its own steps started, by step run
    # (position, frame) (services.executions.links).
    parent: links.ParentLink | None = None
    children: dict[tuple[int, str], links.RunLink] = field(default_factory=dict)

    @cached_property
    def program(self) -> Program:
        return program_of(self.execution)

    @property
    def ran_current_version(self) -> bool:
        return self.current_version == self.execution.workflow_version

    @property
    def is_live(self) -> bool:
        return not ExecutionStatus(self.execution.status).is_final

    @property
    def is_waiting(self) -> bool:
        return self.execution.status == ExecutionStatus.WAITING

    @cached_property
    def waiting(self) -> Waiting | None:
        """What the run waits for (the first waiting step shown), while it waits."""
        if not self.is_waiting:
            return None
        return first_of(view.step for view in self.steps)

    def view_of(self, step_id: int) -> StepView | None:
        """The view of the step run `step_id`, when the page shows it."""
        return next((view for view in self.steps if view.step.id == step_id), None)

    @property
    def has_failed_step(self) -> bool:
        return any(view.step.status == "failed" for view in self.steps)

    @property
    def failed_names(self) -> list[str]:
        """The names of the steps that failed, each once (a step fails in many iterations)."""
        return list(dict.fromkeys(v.name for v in self.steps if v.step.status == "failed"))


def program_of(execution: Execution) -> Program:
    """The tree of steps the execution ran (its snapshot's)."""
    return Program((execution.snapshot or {}).get("actions") or [])


def flatten(nodes: Iterable[StepNode]) -> list[StepView]:
    """The views of a tree in history order (pre-order: a container before what it ran)."""
    views: list[StepView] = []
    for node in nodes:
        views.append(node.view)
        if node.loop is not None:
            for iteration in node.loop.iterations:
                if isinstance(iteration, Iteration):
                    views.extend(flatten(iteration.steps))
        for branch in node.branches:
            views.extend(flatten(branch.steps))
    return views
