"""A workflow's steps as a tree, and where a run goes after each step.

A definition is a list of steps; a `loop` step holds `steps` (run once per item of its list) and
a `paths` step holds `branches` (each a condition and its `steps`) and an optional `otherwise`
(with its `steps`). The same shape is used by specs, drafts and snapshots. `walk` visits every
step in pre-order; `Program` numbers them so: a step's position is its index in that order (a
workflow without containers keeps its list's indexes, as before).

A run of a step is addressed by its position and its *frame*: the loop iterations around it, ""
at top level, "L.i" in iteration i (0-based) of the loop at position L, "L.i.M.j" nested. The
history of a run reads in `history_key` order. `Program.route` says where the run goes once a
step ended: which step runs next and in which frame, which rows a container opens (the body of
every iteration of a loop, the steps of the branches a paths step took), which loops ended their
last iteration, and which steps a stop inside a container skips.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["loop", "paths"]
OTHERWISE = "otherwise"
MAX_DEPTH = 3  # containers inside containers
# Steps that wait for a call to their resume URL (app.engine.waits): templates read
# `steps.<key>.resume_url` of one from any step, before it has run too.
RESUMABLE_TYPES = frozenset({"wait_for_call", "approval"})


@dataclass(frozen=True)
class Place:
    """Where `walk` found a step: its JSON path from the workflow (`("steps", 2, "branches",
    0, "steps", 1)`), the key of its container (None at top level), its branch (a paths
    branch's key, "otherwise", or None), how many containers are around it, and its index in
    its list."""

    step: Mapping[str, Any]
    path: tuple[str | int, ...]
    parent_key: str | None
    branch: str | None
    depth: int
    index: int


def kind_of(step: Mapping[str, Any]) -> Kind | None:
    kind = step.get("type")
    if kind == "loop" or kind == "paths":
        return kind
    return None


def lists_of(step: Mapping[str, Any]) -> list[tuple[str | None, tuple[str | int, ...], list[Any]]]:
    """A container's lists: (branch, JSON path below the step, steps). A loop has one (branch
    None); a paths step one per branch, then "otherwise" when it has one."""
    kind = kind_of(step)
    if kind == "loop":
        return [(None, ("steps",), list(step.get("steps") or []))]
    if kind != "paths":
        return []
    found: list[tuple[str | None, tuple[str | int, ...], list[Any]]] = []
    for index, branch in enumerate(step.get("branches") or []):
        key = branch.get("key") or chr(ord("a") + index)
        found.append((key, ("branches", index, "steps"), list(branch.get("steps") or [])))
    otherwise = step.get("otherwise")
    if otherwise is not None:
        found.append((OTHERWISE, ("otherwise", "steps"), list(otherwise.get("steps") or [])))
    return found


def walk(steps: Sequence[Mapping[str, Any]]) -> Iterator[Place]:
    """Every step of the tree in pre-order (a container before the steps it holds)."""
    yield from _walk(steps, ("steps",), None, None, 0)


def _walk(
    steps: Sequence[Mapping[str, Any]],
    base: tuple[str | int, ...],
    parent_key: str | None,
    branch: str | None,
    depth: int,
) -> Iterator[Place]:
    for index, step in enumerate(steps):
        path = (*base, index)
        yield Place(step, path, parent_key, branch, depth, index)
        for inner_branch, below, inner in lists_of(step):
            yield from _walk(inner, path + below, step.get("key"), inner_branch, depth + 1)


@dataclass
class Node:
    """One step of a `Program`."""

    position: int
    action: dict[str, Any]
    parent: int | None  # the container's position
    branch: str | None
    siblings: list[int]  # positions of the list it is in, in order (itself included)
    index: int  # its index in that list
    address: str  # "4", "4/b/2", "3/1": 1-based per list
    depth: int
    loops: int  # loop containers around it
    kind: Kind | None
    lists: dict[str | None, list[int]] = field(default_factory=dict)  # a container's lists

    @property
    def key(self) -> str:
        return str(self.action["key"])

    @property
    def enabled(self) -> bool:
        return bool(self.action.get("enabled", True))


@dataclass(frozen=True)
class Route:
    """Where a run goes after a step: the next step (`to`: position and frame; None: the run
    ends), rows to create first (`create`: position, frame, status), loops whose last
    iteration ended (`closes`: position and frame, innermost first) and rows a stop skips."""

    to: tuple[int, str] | None
    create: tuple[tuple[int, str, str], ...] = ()
    closes: tuple[tuple[int, str], ...] = ()
    skips: tuple[tuple[int, str], ...] = ()

    @property
    def plain(self) -> bool:
        """Nothing to store but the move: the step can be part of a chain."""
        return not (self.create or self.closes or self.skips)


class Program:
    """The steps of a snapshot numbered in pre-order, with the way through them."""

    def __init__(self, actions: Sequence[Mapping[str, Any]]) -> None:
        self.flat: list[dict[str, Any]] = []
        self.nodes: list[Node] = []
        self.top: list[int] = self._number(actions, None, None, "", 0, 0)
        self.by_key = {node.key: node.position for node in self.nodes}
        self.resumable = [n.position for n in self.nodes if n.action.get("type") in RESUMABLE_TYPES]

    def loop_positions(self, position: int) -> list[int]:
        """The positions of the loops around the step at `position`, outermost first."""
        found = []
        parent = self.nodes[position].parent
        while parent is not None:
            if self.nodes[parent].kind == "loop":
                found.append(parent)
            parent = self.nodes[parent].parent
        return found[::-1]

    def resumable_within(self, loops: list[int]) -> list[tuple[int, list[int]]]:
        """The resumable steps a step inside `loops` (outermost first) can name the resume URL
        of, in the same iteration: those whose own loops are the outermost of `loops` (or
        none), with their loops; in run order."""
        found = []
        for position in self.resumable:
            own = self.loop_positions(position)
            if loops[: len(own)] == own:
                found.append((position, own))
        return found

    def _number(
        self,
        steps: Sequence[Mapping[str, Any]],
        parent: int | None,
        branch: str | None,
        prefix: str,
        depth: int,
        loops: int,
    ) -> list[int]:
        siblings: list[int] = []
        for index, step in enumerate(steps):
            position = len(self.flat)
            action = dict(step)
            kind = kind_of(action)
            node = Node(
                position,
                action,
                parent,
                branch,
                siblings,
                index,
                f"{prefix}{index + 1}",
                depth,
                loops,
                kind,
            )
            self.flat.append(action)
            self.nodes.append(node)
            siblings.append(position)
            for inner_branch, _below, inner in lists_of(step):
                label = f"{node.address}/" if kind == "loop" else f"{node.address}/{inner_branch}/"
                inner_loops = loops + (kind == "loop")
                node.lists[inner_branch] = self._number(
                    inner, position, inner_branch, label, depth + 1, inner_loops
                )
        return siblings

    def __len__(self) -> int:
        return len(self.flat)

    # -- where a run starts and goes ---------------------------------------------------------

    def first_enabled(self, positions: Sequence[int], start: int = 0) -> int | None:
        for position in positions[start:]:
            if self.nodes[position].enabled:
                return position
        return None

    def start(self) -> int | None:
        """The first step a run takes (at top level), or None when every step is disabled."""
        return self.first_enabled(self.top)

    def rows_of(self, positions: Sequence[int], frame: str) -> list[tuple[int, str, str]]:
        """Rows to create for the steps of a list in `frame`: pending, or skipped if disabled."""
        return [(p, frame, "pending" if self.nodes[p].enabled else "skipped") for p in positions]

    def route(
        self,
        position: int,
        frame: str,
        output: Mapping[str, Any] | None,
        outputs: Mapping[str, Any],
        *,
        stop: bool = False,
    ) -> Route:
        """Where the run goes after the step at (`position`, `frame`) ended with `output` (None
        when it failed or was skipped: a container then opens nothing). `outputs` are the
        outputs the run sees there, by key (the containers around the step are among them).
        `stop`: a filter stopped the run here; inside a container it ends the iteration or
        the branch (its later steps are skipped), at top level the run."""
        node = self.nodes[position]
        if stop and node.parent is None:
            return Route(None)  # the run ends: every step still pending is skipped
        if stop:
            skips = tuple((p, frame) for p in node.siblings[node.index + 1 :])
            return _with(self._end_of_list(node, frame, outputs), skips=skips)
        if output is not None and node.kind == "loop":
            return self._open_loop(node, frame, output, outputs)
        if output is not None and node.kind == "paths":
            return self._open_paths(node, frame, output, outputs)
        return self._after(node, frame, outputs)

    def _after(self, node: Node, frame: str, outputs: Mapping[str, Any]) -> Route:
        """The next enabled step after `node` in its list, else the end of that list."""
        following = self.first_enabled(node.siblings, node.index + 1)
        if following is not None:
            return Route((following, frame))
        return self._end_of_list(node, frame, outputs)

    def _open_loop(
        self, node: Node, frame: str, output: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> Route:
        count = int(output.get("count") or 0)
        body = node.lists.get(None, [])
        first = self.first_enabled(body)
        if count <= 0 or first is None:  # nothing runs: the loop ends at once
            after = self._after(node, frame, outputs)
            return _with(after, closes=((node.position, frame),), first=True)
        create: list[tuple[int, str, str]] = []
        for index in range(count):
            create.extend(self.rows_of(body, iteration_frame(frame, node.position, index)))
        return Route((first, iteration_frame(frame, node.position, 0)), tuple(create))

    def _open_paths(
        self, node: Node, frame: str, output: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> Route:
        taken = [key for key in output.get("taken") or [] if key in node.lists]
        create = tuple(row for key in taken for row in self.rows_of(node.lists[key], frame))
        for key in taken:
            first = self.first_enabled(node.lists[key])
            if first is not None:
                return Route((first, frame), create)
        return _with(self._after(node, frame, outputs), create=create, first=True)

    def _end_of_list(self, node: Node, frame: str, outputs: Mapping[str, Any]) -> Route:
        """The list holding `node` ended in `frame`: the next iteration of the loop around
        it, the next branch a paths step took (mode "all"), or what follows the container."""
        if node.parent is None:
            return Route(None)
        container = self.nodes[node.parent]
        if container.kind == "loop":
            outer, loop_position, index = split_frame(frame)
            count = int((outputs.get(container.key) or {}).get("count") or 0)
            first = self.first_enabled(container.lists.get(None, []))
            if index + 1 < count and first is not None:
                return Route((first, iteration_frame(outer, loop_position, index + 1)))
            closes = ((container.position, outer),)
            return _with(self._after(container, outer, outputs), closes=closes, first=True)
        decided = outputs.get(container.key) or {}
        taken = [key for key in decided.get("taken") or [] if key in container.lists]
        if decided.get("mode") == "all" and node.branch in taken:
            for key in taken[taken.index(node.branch) + 1 :]:
                first = self.first_enabled(container.lists[key])
                if first is not None:
                    return Route((first, frame))
        return self._after(container, frame, outputs)


def _with(
    route: Route,
    *,
    create: tuple[tuple[int, str, str], ...] = (),
    closes: tuple[tuple[int, str], ...] = (),
    skips: tuple[tuple[int, str], ...] = (),
    first: bool = False,
) -> Route:
    """`route` with more rows to create, loops to close and rows to skip (`first`: these come
    before the route's own: the inner container ends before the outer one)."""
    if first:
        return Route(
            route.to,
            create + route.create,
            closes + route.closes,
            skips + route.skips,
        )
    return Route(route.to, route.create + create, route.closes + closes, route.skips + skips)


# -- frames ------------------------------------------------------------------------------------


def iteration_frame(frame: str, loop_position: int, index: int) -> str:
    """The frame of iteration `index` of the loop at `loop_position` run in `frame`."""
    inner = f"{loop_position}.{index}"
    return f"{frame}.{inner}" if frame else inner


def frame_numbers(frame: str) -> tuple[int, ...]:
    return tuple(int(part) for part in frame.split(".")) if frame else ()


def frame_iterations(frame: str) -> list[tuple[int, int]]:
    """The (loop position, iteration index) pairs of a frame, outermost first."""
    numbers = frame_numbers(frame)
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def split_frame(frame: str) -> tuple[str, int, int]:
    """(the frame around the innermost loop, that loop's position, the iteration index)."""
    numbers = frame_numbers(frame)
    if len(numbers) < 2:
        raise ValueError(f"frame {frame!r} is not inside a loop")
    outer = ".".join(str(n) for n in numbers[:-2])
    return outer, numbers[-2], numbers[-1]


def frame_prefixes(frame: str) -> list[str]:
    """The frames whose rows a step in `frame` sees: "", then each enclosing iteration."""
    numbers = frame_numbers(frame)
    return [
        "",
        *(".".join(str(n) for n in numbers[: 2 * k]) for k in range(1, len(numbers) // 2 + 1)),
    ]


def history_key(frame: str, position: int) -> tuple[int, ...]:
    """Sort key of a step run: a run's history reads in this order (a loop before its
    iterations, iteration 0 before 1, what follows the loop after its last iteration)."""
    return (*frame_numbers(frame), position)


def readable_keys(steps: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """The keys of the steps whose outputs the step `key` may read (`steps.<key>`), nearest
    list first: the steps before it in its list, then for each container around it, that
    container and the steps before the container in its list. Steps inside a container are
    not readable after it (a loop's are per iteration: read `steps.<loop>.items`)."""
    program = Program(steps)
    position = program.by_key.get(key)
    if position is None:
        return []
    found: list[str] = []
    node = program.nodes[position]
    while True:
        found.extend(program.nodes[p].key for p in reversed(node.siblings[: node.index]))
        if node.parent is None:
            return found
        node = program.nodes[node.parent]
        found.append(node.key)


def in_loop(steps: Sequence[Mapping[str, Any]], key: str) -> bool:
    """Whether the step `key` runs inside a loop (it may read `loop.*`)."""
    program = Program(steps)
    position = program.by_key.get(key)
    return position is not None and program.nodes[position].loops > 0
