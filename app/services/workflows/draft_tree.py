"""A draft's steps as a tree: where a step is, the list a new or moved step goes into, the
rules a place must keep, fresh keys for copies, and the references a move breaks.

A `loop` step holds `steps`; a `paths` step holds `branches` (each with its `steps`) and an
optional `otherwise` (see app.engine.program for the shape, and `readable_keys` for what a step
may read). A list is named by a `Slot`: the key of its container (None at top level) and, in a
paths step, the branch key or "otherwise".
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from app.engine.program import MAX_DEPTH, OTHERWISE, kind_of, readable_keys, walk
from app.services.errors import InvalidInputError, NotFoundError
from app.services.workflows import resume_refs
from app.services.workflows.specs import unique_key
from app.services.workflows.step_checks import referenced_keys, rename_references

MAX_BRANCHES = 10
MIN_BRANCHES = 2
ENDS_LIST = "A paths step ends its list: add the steps that follow it inside its branches."
_LOOP_VARIABLE = re.compile(r"(?<!\.)\bloop\s*(?:\.|\[)")  # not steps.loop.count


@dataclass(frozen=True)
class Slot:
    """A list of steps: the top level (parent None), a loop's body, or a branch of a paths
    step (`branch` its key or "otherwise")."""

    parent: str | None = None
    branch: str | None = None


TOP = Slot()  # the top level


@dataclass(frozen=True)
class Found:
    """Where a step is: the list holding it (the draft's own list object), its index there,
    its slot, its JSON path from the workflow and the containers around it (outermost first)."""

    step: dict[str, Any]
    siblings: list[dict[str, Any]]
    index: int
    slot: Slot
    path: tuple[str | int, ...]
    containers: tuple[str, ...]

    @property
    def where(self) -> str:
        """The dotted field path a refusal names: `steps.2.branches.0.steps.1`."""
        return ".".join(str(part) for part in self.path)

    @property
    def depth(self) -> int:
        return len(self.containers)


def lists(step: Mapping[str, Any]) -> list[tuple[str | None, list[dict[str, Any]]]]:
    """A container's own lists (the step's list objects): a loop's body (branch None); a
    paths step's branches by key, then "otherwise" when it has one."""
    kind = kind_of(step)
    if kind == "loop":
        return [(None, _own_list(step, "steps"))]  # type: ignore[arg-type]
    if kind != "paths":
        return []
    found: list[tuple[str | None, list[dict[str, Any]]]] = [
        (str(branch.get("key")), _own_list(branch, "steps"))
        for branch in step.get("branches") or []
    ]
    otherwise = step.get("otherwise")
    if isinstance(otherwise, dict):
        found.append((OTHERWISE, _own_list(otherwise, "steps")))
    return found


def _own_list(holder: dict[str, Any], name: str) -> list[dict[str, Any]]:
    if not isinstance(holder.get(name), list):
        holder[name] = []
    found: list[dict[str, Any]] = holder[name]
    return found


def each(steps: Sequence[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step of the tree, in pre-order (the tree's own dicts)."""
    for place in walk(steps):
        yield cast(dict[str, Any], place.step)


def all_keys(steps: Sequence[Mapping[str, Any]]) -> set[str]:
    return {str(step["key"]) for step in each(steps)}


def total(steps: Sequence[Mapping[str, Any]]) -> int:
    return sum(1 for _ in each(steps))


def find(steps: list[dict[str, Any]], key: str) -> Found:
    """Where the step with `key` is, or NotFoundError."""
    for place in walk(steps):
        if place.step.get("key") == key:
            siblings = _list_of_path(steps, place.path[:-1])
            return Found(
                place.step,  # type: ignore[arg-type]
                siblings,
                place.index,
                Slot(place.parent_key, place.branch),
                place.path,
                tuple(_containers(steps, place.path)),
            )
    raise NotFoundError(f"step {key!r}")


def _list_of_path(steps: list[dict[str, Any]], path: tuple[str | int, ...]) -> Any:
    node: Any = {"steps": steps}
    for part in path:
        node = node[part]
    return node


def _containers(steps: list[dict[str, Any]], path: tuple[str | int, ...]) -> list[str]:
    """Keys of the containers around the step at `path`, outermost first."""
    found: list[str] = []
    node: Any = {"steps": steps}
    for part in path[:-1]:
        node = node[part]
        if isinstance(node, dict) and kind_of(node) and "key" in node:
            found.append(str(node["key"]))
    return found


def list_at(steps: list[dict[str, Any]], slot: Slot) -> list[dict[str, Any]]:
    """The list a slot names (the draft's own), or InvalidInputError naming `parent`/`branch`."""
    if slot.parent is None:
        return steps
    container = find(steps, slot.parent).step
    for branch, inner in lists(container):
        if branch == slot.branch or (kind_of(container) == "loop" and slot.branch is None):
            return inner
    if kind_of(container) is None:
        raise InvalidInputError(f"Step {slot.parent!r} holds no steps.", field="parent")
    raise InvalidInputError(f"“{container.get('name')}” has no branch {slot.branch!r}.", "branch")


def slot_words(steps: list[dict[str, Any]], slot: Slot) -> str:
    """Where a slot is, in words: "in the loop “Each order”", "in branch “VIP” of “Route”"."""
    if slot.parent is None:
        return ""
    container = find(steps, slot.parent).step
    name = container.get("name") or slot.parent
    if kind_of(container) == "loop":
        return f"in the loop “{name}”"
    return f"in {branch_name(container, slot.branch)} of “{name}”"


def branch_name(paths: Mapping[str, Any], branch: str | None) -> str:
    if branch == OTHERWISE:
        otherwise = paths.get("otherwise") or {}
        return f"“{otherwise.get('name') or 'Otherwise'}”"
    for item in paths.get("branches") or []:
        if item.get("key") == branch:
            return f"branch “{item.get('name') or branch}”"
    return f"branch {branch!r}"


def nesting(step: Mapping[str, Any]) -> int:
    """Levels of containers a step is (0 for a plain step, 1 for a loop of plain steps...)."""
    inner = [nesting(child) for _, children in lists(dict(step)) for child in children]
    return (1 if kind_of(step) else 0) + max(inner, default=0)


def check_place(
    steps: list[dict[str, Any]], slot: Slot, at: int, step: Mapping[str, Any], *, moving: bool
) -> None:
    """Refuse a place that breaks the tree's rules: containers nest at most MAX_DEPTH deep, a
    step never goes inside itself, and a paths step ends its list."""
    around = 0 if slot.parent is None else find(steps, slot.parent).depth + 1
    if slot.parent is not None and step.get("key") in (
        [slot.parent, *find(steps, slot.parent).containers] if moving else []
    ):
        raise InvalidInputError("A step cannot go inside itself.", field="parent")
    if around + nesting(step) > MAX_DEPTH:
        message = f"Loops and paths nest at most {MAX_DEPTH} deep."
        raise InvalidInputError(message, field="parent" if slot.parent else "type")
    target = [s for s in list_at(steps, slot) if s is not step]
    if kind_of(step) == "paths" and at < len(target):
        raise InvalidInputError(ENDS_LIST, field="at")
    if at >= len(target) and target and kind_of(target[-1]) == "paths":
        raise InvalidInputError(ENDS_LIST, field="at")


def fresh_copy(step: Mapping[str, Any], taken: set[str]) -> dict[str, Any]:
    """A deep copy of a step (and of every step inside it) under new keys unique in `taken`
    (which gains them); references between the copied steps follow their new keys."""
    copied = copy.deepcopy(dict(step))
    renamed: dict[str, str] = {}
    for inner in each([copied]):
        old = str(inner["key"])
        new = unique_key(re.sub(r"_\d+$", "", old), taken)
        taken.add(new)
        renamed[old] = new
        inner["key"] = new
    for inner in each([copied]):
        for old, new in renamed.items():
            _rename_in(inner, old, new)
    return copied


def _rename_in(step: dict[str, Any], old: str, new: str) -> None:
    step["config"] = rename_references(step.get("config") or {}, old, new)
    if step.get("run_if"):
        step["run_if"] = rename_references(step["run_if"], old, new)
    for branch in step.get("branches") or []:
        branch["condition"] = rename_references(branch.get("condition") or {}, old, new)


def rename_everywhere(steps: list[dict[str, Any]], old: str, new: str) -> None:
    """Point every template reference of the tree to step `old` at `new`."""
    for step in each(steps):
        _rename_in(step, old, new)


def reads(step: Mapping[str, Any]) -> list[str]:
    """The step keys a step's own templates read (config, run only if, branch conditions)."""
    conditions = [branch.get("condition") or {} for branch in step.get("branches") or []]
    return referenced_keys([step.get("config") or {}, step.get("run_if") or {}, conditions])


def reads_loop(step: Mapping[str, Any]) -> bool:
    """Whether a step's own templates read `loop.*`."""
    texts = [step.get("config") or {}, step.get("run_if") or {}]
    return bool(_LOOP_VARIABLE.search(repr(texts)))


def unreadable(steps: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(reader, read) pairs: a step of the tree reads a step of the tree it cannot see."""
    present = all_keys(steps)
    found = []
    for step in each(steps):
        key = str(step["key"])
        visible = set(readable_keys(steps, key))
        visible |= resume_refs.allowed(steps, key, step.get("config") or {}, step.get("run_if"))
        found += [(key, read) for read in reads(step) if read in present and read not in visible]
    return found


def outside_loops(steps: list[dict[str, Any]]) -> list[str]:
    """Keys of steps that read `loop.*` but run in no loop."""
    found = []
    for place in walk(steps):
        if reads_loop(place.step) and not any(
            kind_of(find(steps, key).step) == "loop" for key in _containers(steps, place.path)
        ):
            found.append(str(place.step["key"]))
    return found


def move_warnings(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """What a move broke, in words: references that no longer see their step, `loop.*` read
    outside any loop ("Step “Send” reads steps.lookup, which it cannot see from inside the
    loop “Each order”")."""
    broken = [pair for pair in unreadable(after) if pair not in set(unreadable(before))]
    messages = [_unreadable_words(after, reader, read) for reader, read in broken]
    lost = [key for key in outside_loops(after) if key not in outside_loops(before)]
    for key in lost:
        name = find(after, key).step.get("name") or key
        messages.append(f"Step “{name}” reads loop.item, which exists only inside a loop.")
    return messages


def _list_paths(path: tuple[str | int, ...]) -> list[tuple[str | int, ...]]:
    """The paths of the lists around the step at `path`, outermost first (top level left out)."""
    return [path[: i + 1] for i, part in enumerate(path) if part == "steps" and i > 0]


def _unreadable_words(steps: list[dict[str, Any]], reader: str, read: str) -> str:
    where = find(steps, reader)
    target = find(steps, read)
    name = where.step.get("name") or reader
    mine = set(_list_paths(where.path))
    hidden = [list_path for list_path in _list_paths(target.path) if list_path not in mine]
    if hidden:
        list_path = hidden[0]  # (…, container, "steps"), or (…, "branches", i, "steps")
        if list_path[-2] == "otherwise":
            container, branch = _list_of_path(steps, list_path[:-2]), OTHERWISE
        elif list_path[-3] == "branches":
            container = _list_of_path(steps, list_path[:-3])
            branch = str(container["branches"][list_path[-2]].get("key"))
        else:
            container, branch = _list_of_path(steps, list_path[:-1]), None
        title = container.get("name") or container.get("key")
        if branch is None:
            return (
                f"Step “{name}” reads steps.{read}, which it cannot see from outside the loop "
                f"“{title}” (read steps.{container.get('key')}.items)."
            )
        return (
            f"Step “{name}” reads steps.{read}, which it cannot see from outside "
            f"{branch_name(container, branch)} of “{title}”."
        )
    if where.containers:
        container = find(steps, where.containers[-1]).step
        inner = "loop" if kind_of(container) == "loop" else "paths step"
        return (
            f"Step “{name}” reads steps.{read}, which it cannot see from inside the {inner} "
            f"“{container.get('name') or where.containers[-1]}”: it runs later."
        )
    return f"Step “{name}” reads steps.{read}, which runs after it."
