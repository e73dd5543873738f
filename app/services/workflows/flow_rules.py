"""The rules of a nested definition that a schema cannot state, and the keys it leaves out.

Loop steps hold `steps`, paths steps `branches` (2 to 10) and an optional `otherwise`; step keys
are unique in the whole tree; loop and paths steps nest at most 3 deep; a paths step ends its
list; the tree holds at most 200 steps; a loop's `max_items` stays within the operator's
limit (`STEPLINE_MAX_LOOP_ITEMS`). A broken rule is an InvalidInputError naming the field by
its full path (`steps.2.branches.0.steps.1.key`). `settle` also fills in the keys a definition
may leave out: step keys as for a flat list (from the type), branch keys "a", "b", ….
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from app.services.errors import InvalidInputError
from app.services.workflows import tree
from app.services.workflows.specs import (
    MAX_BRANCHES,
    MAX_DEPTH,
    MAX_TREE_STEPS,
    MIN_BRANCHES,
    WorkflowSpec,
    unique_key,
)

LOOP = "loop"
PATHS = "paths"
CONTAINERS = (LOOP, PATHS)


def settle(spec: WorkflowSpec, max_loop_items: int) -> WorkflowSpec:
    """`spec` with every step and branch keyed, once it keeps the rules of a nested
    definition (else InvalidInputError naming the field)."""
    data = spec.model_dump(mode="json")
    settle_steps(data["steps"], max_loop_items)
    return WorkflowSpec.model_validate(data)


def settle_steps(steps: list[Any], max_loop_items: int | None) -> None:
    """Check and key a tree of step dicts in place (spec JSON or a draft's steps); None: the
    loops' `max_items` are left to the engine."""
    places = list(tree.walk(steps))
    if len(places) > MAX_TREE_STEPS:
        raise InvalidInputError(
            f"A workflow holds at most {MAX_TREE_STEPS} steps, those inside loops and branches "
            f"included; this one has {len(places)}.",
            field="steps",
        )
    given: set[str] = set()
    for place in places:
        _check_place(place, len(tree.at({"steps": steps}, place.path[:-1])), max_loop_items)
        key = place.step.get("key")
        if key:
            if key in given:  # name the second use: the first one was fine
                where = tree.dotted((*place.path, "key"))
                raise InvalidInputError(f"The key {key!r} is used twice.", field=where)
            given.add(str(key))
    for place in places:
        step = place.step
        assert isinstance(step, dict)
        if not step.get("key"):
            step["key"] = unique_key(str(step.get("type") or "step"), given)
            given.add(step["key"])
        if step.get("type") == LOOP and step.get("steps") is None:
            step["steps"] = []
        _key_branches(step, place.path)


def _check_place(place: tree.Place, siblings: int, max_loop_items: int | None) -> None:
    step, where = place.step, tree.dotted(place.path)
    type_ = step.get("type")
    if step.get("steps") is not None and type_ != LOOP:
        raise InvalidInputError("Only a loop step holds steps of its own.", f"{where}.steps")
    for name in ("branches", "otherwise"):
        if step.get(name) is not None and type_ != PATHS:
            raise InvalidInputError(f"Only a paths step holds {name}.", f"{where}.{name}")
    if type_ not in CONTAINERS:
        return
    if place.depth >= MAX_DEPTH:
        raise InvalidInputError(
            f"Loop and paths steps nest at most {MAX_DEPTH} deep: move this one out of the "
            "loops or branches around it.",
            f"{where}.type",
        )
    if type_ == PATHS:
        if place.index < siblings - 1:
            raise InvalidInputError(
                "A paths step ends its list: move the steps after it into its branches.",
                f"{where}.type",
            )
        branches = step.get("branches")
        if not isinstance(branches, list) or not MIN_BRANCHES <= len(branches) <= MAX_BRANCHES:
            raise InvalidInputError(
                f"A paths step holds {MIN_BRANCHES} to {MAX_BRANCHES} branches.",
                f"{where}.branches",
            )
    elif max_loop_items is not None:
        _check_max_items(step.get("config"), where, max_loop_items)


def _check_max_items(config: Any, where: str, max_loop_items: int) -> None:
    if not isinstance(config, Mapping):
        return
    value = config.get("max_items")
    if isinstance(value, int) and not isinstance(value, bool) and value > max_loop_items:
        raise InvalidInputError(
            f"A loop takes at most {max_loop_items} items on this server.",
            f"{where}.config.max_items",
        )


def _key_branches(step: dict[str, Any], path: tree.Path) -> None:
    branches = step.get("branches")
    if not isinstance(branches, list):
        return
    given: set[str] = set()
    for index, branch in enumerate(branches):
        key = branch.get("key")
        if key and key in given:
            where = tree.dotted((*path, "branches", index, "key"))
            raise InvalidInputError(f"The branch key {key!r} is used twice.", field=where)
        if key:
            given.add(str(key))
    free = (letter for letter in string.ascii_lowercase if letter not in given)
    for branch in branches:
        if not branch.get("key"):
            branch["key"] = next(free)
