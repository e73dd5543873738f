"""The steps of a definition as a tree, for the services: built on the engine's
`app.engine.program` (`walk`, `Program`, `readable_keys`), which reads every shape alike (spec
JSON, a draft, a snapshot): loop steps hold `steps`, paths steps `branches` and `otherwise`.

Here: finding a step by key, the loops around it, its address ("4/b/2") and the address in
words for people ("Step 4", "Branch b", "step 2" joined by SEPARATOR).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from app.engine import program
from app.engine.program import OTHERWISE, Place, readable_keys

__all__ = ["OTHERWISE", "Place", "readable_keys"]

Path = tuple[str | int, ...]
SEPARATOR = " \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} "


def walk(steps: Sequence[Mapping[str, Any]]) -> Iterator[Place]:
    """Every step of a nested list in pre-order (a container, then its lists in order)."""
    return program.walk(steps)


def dotted(path: Path) -> str:
    """`("steps", 2, "branches", 0)` → "steps.2.branches.0" (an error's field)."""
    return ".".join(str(part) for part in path)


def at(root: Any, path: Path) -> Any:
    """What `path` names inside `root` (e.g. `{"steps": [...]}` and a place's list,
    `place.path[:-1]`)."""
    for part in path:
        root = root[part]
    return root


def find(steps: Sequence[Mapping[str, Any]], key: str) -> Place | None:
    """The place of the step with `key` anywhere in the tree, or None."""
    return next((place for place in walk(steps) if place.step.get("key") == key), None)


def loops_around(steps: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """The keys of the loop steps whose body holds the step with `key`, outermost first."""
    tree = program.Program(steps)
    position = tree.by_key.get(key)
    found: list[str] = []
    while position is not None:
        parent = tree.nodes[position].parent
        if parent is not None and tree.nodes[parent].kind == "loop":
            found.insert(0, tree.nodes[parent].key)
        position = parent
    return found


def address(steps: Sequence[Mapping[str, Any]], key: str) -> str:
    """Where the step is, 1-based per list: "4", "4/b/2", "3/1", "4/otherwise/1"."""
    tree = program.Program(steps)
    position = tree.by_key.get(key)
    return tree.nodes[position].address if position is not None else ""


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
