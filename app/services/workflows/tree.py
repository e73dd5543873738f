"""The steps of a definition as a tree: loop steps hold `steps`, paths steps hold `branches`
(each with `steps`) and `otherwise` (with `steps`).

The same keys in every shape (spec JSON, a draft, a snapshot), so one walk serves them all.
`walk` and `readable_keys` follow the contract of the engine's `app/engine/program.py`
(the places a step may read); `address` and `words` name a place for people: "4/b/2",
"Step 4 / Branch b / step 2" (joined by SEPARATOR).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OTHERWISE = "otherwise"
SEPARATOR = " \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} "
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Place:
    """Where a step is: `path` from the workflow (`("steps", 2, "branches", 0, "steps", 1)`),
    the key of the container around it, the branch key in a paths step ("otherwise" in its
    otherwise, None elsewhere), how many containers are around it, its index in its list and
    the path of that list."""

    step: Mapping[str, Any]
    path: Path
    parent_key: str | None
    branch: str | None
    depth: int
    index: int
    siblings_path: Path


def lists(step: Mapping[str, Any]) -> Iterator[tuple[str | None, Path, Sequence[Any]]]:
    """The lists a step holds: (branch key or None, their path below the step, the steps)."""
    body = step.get("steps")
    if isinstance(body, list):
        yield None, ("steps",), body
    for index, branch in enumerate(step.get("branches") or []):
        if isinstance(branch, Mapping):
            yield _key(branch.get("key")), ("branches", index, "steps"), branch.get("steps") or []
    otherwise = step.get("otherwise")
    if isinstance(otherwise, Mapping):
        yield OTHERWISE, ("otherwise", "steps"), otherwise.get("steps") or []


def _key(value: Any) -> str | None:
    return str(value) if value else None


def walk(
    steps: Sequence[Any],
    path: Path = ("steps",),
    parent_key: str | None = None,
    branch: str | None = None,
    depth: int = 0,
) -> Iterator[Place]:
    """Every step of a nested list in pre-order (a container, then its lists in order)."""
    for index, step in enumerate(steps):
        if not isinstance(step, Mapping):
            continue
        here = (*path, index)
        yield Place(step, here, parent_key, branch, depth, index, path)
        for inner_branch, below, inner in lists(step):
            yield from walk(inner, here + below, _key(step.get("key")), inner_branch, depth + 1)


def dotted(path: Path) -> str:
    """`("steps", 2, "branches", 0)` → "steps.2.branches.0" (an error's field)."""
    return ".".join(str(part) for part in path)


def at(root: Any, path: Path) -> Any:
    """What `path` names inside `root` (e.g. `{"steps": [...]}` and a place's siblings_path)."""
    for part in path:
        root = root[part]
    return root


def is_container(step: Mapping[str, Any]) -> bool:
    return any(step.get(name) is not None for name in ("steps", "branches", "otherwise"))


def _chain(steps: Sequence[Any], key: str) -> list[tuple[Sequence[Any], int, str | None]] | None:
    """The lists from the top down to the step with `key`: (list, index in it, branch)."""
    for index, step in enumerate(steps):
        if not isinstance(step, Mapping):
            continue
        if step.get("key") == key:
            return [(steps, index, None)]
        for branch, _below, inner in lists(step):
            found = _chain(inner, key)
            if found is not None:
                return [(steps, index, branch), *found]
    return None


def find(steps: Sequence[Any], key: str) -> Place | None:
    """The place of the step with `key` anywhere in the tree, or None."""
    return next((place for place in walk(steps) if place.step.get("key") == key), None)


def readable_keys(steps: Sequence[Any], key: str) -> list[str]:
    """The step keys the step with `key` may read: the steps before it in its own list and,
    for each container around it, the container and the steps before that container in its
    list. Steps inside a loop body are not readable after the loop (its output is)."""
    chain = _chain(steps, key) or []
    readable: list[str] = []
    for depth, (siblings, index, _branch) in enumerate(chain):
        before = [str(s.get("key")) for s in siblings[:index] if isinstance(s, Mapping)]
        readable += before
        if depth < len(chain) - 1:  # a container around the step
            readable.append(str(siblings[index].get("key")))
    return [k for k in readable if k and k != "None"]


def loops_around(steps: Sequence[Any], key: str) -> list[str]:
    """The keys of the loop steps whose body holds the step with `key`, outermost first."""
    chain = _chain(steps, key) or []
    return [
        str(siblings[index].get("key"))
        for siblings, index, branch in chain[:-1]
        if branch is None and isinstance(siblings[index].get("steps"), list)
    ]


def address(steps: Sequence[Any], key: str) -> str:
    """Where the step is, 1-based per list: "4", "4/b/2", "3/1", "4/otherwise/1"."""
    parts: list[str] = []
    for siblings, index, branch in _chain(steps, key) or []:
        parts.append(str(index + 1))
        if branch is not None and siblings[index].get("key") != key:
            parts.append(branch)
    return "/".join(parts)


def words(place_address: str) -> str:
    """An address for people: "4/b/2" → "Step 4", "Branch b", "step 2" joined by SEPARATOR."""
    parts = place_address.split("/")
    said = [f"Step {parts[0]}"]
    for part in parts[1:]:
        if part.isdigit():
            said.append(f"step {part}")
        elif part == OTHERWISE:
            said.append("Otherwise")
        else:
            said.append(f"Branch {part}")
    return SEPARATOR.join(said)
