"""The shape of a draft's tree of steps: add, move, duplicate, delete and switch off steps
anywhere in it (top level, a loop's body, a branch of a paths step), and add, change and
remove a paths step's branches.

Each use case loads the draft, changes it, stores it and commits, like
services.workflows.draft_edits; a refused change raises InvalidInputError naming the field
and leaves the draft as it was. A move is never refused for what it breaks: it returns, in
words, the references that can no longer see their step (see draft_tree.move_warnings).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.engine.program import OTHERWISE, kind_of
from app.engine.registry import ActionRegistry
from app.models import Workflow
from app.services.errors import InvalidInputError, NotFoundError
from app.services.workflows import draft_tree, drafts
from app.services.workflows.draft_edits import ProblemsFoundError
from app.services.workflows.draft_tree import MAX_BRANCHES, MIN_BRANCHES, Slot
from app.services.workflows.specs import MAX_STEPS, unique_key
from app.services.workflows.step_checks import run_if_problems


@dataclass(frozen=True)
class Moved:
    """Where a moved step landed (its slot and index there) and what the move broke."""

    slot: Slot
    index: int
    warnings: list[str]


def _changed(session: Session, workflow: Workflow) -> drafts.Draft:
    return drafts.load(session, workflow, for_update=True)


def _room(draft: drafts.Draft, adding: int = 1) -> None:
    if draft_tree.total(draft.steps) + adding > MAX_STEPS:
        raise InvalidInputError(f"A workflow has at most {MAX_STEPS} steps.", field="steps")


def new_branch(key: str, number: int) -> dict[str, Any]:
    """An unconfigured branch: a name to change and a condition to fill in."""
    return {
        "key": key,
        "name": f"Path {key.upper()}" if len(key) == 1 else f"Path {number}",
        "condition": {"match": "all", "conditions": []},
        "steps": [],
    }


def new_step(type_: str, key: str, actions: ActionRegistry) -> dict[str, Any]:
    """An unconfigured step of kind `type_`; a loop with an empty body, a paths step with two
    branches and "Otherwise"."""
    step: dict[str, Any] = {
        "key": key,
        "type": type_,
        "name": actions.get(type_).name,
        "config": {},
        "retry": None,
        "enabled": True,
        "continue_on_error": False,
    }
    if type_ == "loop":
        step["steps"] = []
    elif type_ == "paths":
        step["branches"] = [new_branch("a", 1), new_branch("b", 2)]
        step["otherwise"] = {"name": "Otherwise", "steps": []}
    return step


def insert_step(
    session: Session,
    workflow: Workflow,
    type_: str,
    at: int,
    actions: ActionRegistry,
    slot: Slot | None = None,
) -> tuple[drafts.Draft, str]:
    """Add an unconfigured step of kind `type_` at index `at` of the list `slot` names (the
    top level by default); return its key."""
    if type_ not in actions:
        raise InvalidInputError(f"Unknown action type {type_!r}.", field="type")
    slot = slot or Slot()
    draft = _changed(session, workflow)
    _room(draft)
    step = new_step(type_, unique_key(type_, set(draft.keys())), actions)
    target = draft_tree.list_at(draft.steps, slot)
    at = max(0, min(at, len(target)))
    draft_tree.check_place(draft.steps, slot, at, step, moving=False)
    target.insert(at, step)
    return drafts.store(session, draft), str(step["key"])


def move_step(
    session: Session, workflow: Workflow, key: str, to: int, slot: Slot | None = None
) -> tuple[drafts.Draft, Moved]:
    """Move a step (with what it holds) to index `to` of the list `slot` names (its own list
    by default), clamped to that list."""
    draft = _changed(session, workflow)
    before = copy.deepcopy(draft.steps)
    found = draft.locate(key)
    slot = found.slot if slot is None else slot
    target = draft_tree.list_at(draft.steps, slot)
    others = [s for s in target if s is not found.step]
    to = max(0, min(to, len(others)))
    draft_tree.check_place(draft.steps, slot, to, found.step, moving=True)
    found.siblings.pop(found.index)
    target = draft_tree.list_at(draft.steps, slot)
    target.insert(to, found.step)
    warnings = draft_tree.move_warnings(before, draft.steps)
    return drafts.store(session, draft), Moved(slot, to, warnings)


def duplicate_step(session: Session, workflow: Workflow, key: str) -> tuple[drafts.Draft, str]:
    """Insert a copy of a step (and of every step inside it, under fresh keys) right after it;
    return the copy's key."""
    draft = _changed(session, workflow)
    found = draft.locate(key)
    _room(draft, draft_tree.total([found.step]))
    copied = draft_tree.fresh_copy(found.step, set(draft.keys()))
    copied["name"] = f"{copied.get('name') or key} (copy)"[:200]
    draft_tree.check_place(draft.steps, found.slot, found.index + 1, copied, moving=False)
    found.siblings.insert(found.index + 1, copied)
    return drafts.store(session, draft), str(copied["key"])


def delete_step(session: Session, workflow: Workflow, key: str) -> tuple[drafts.Draft, Moved]:
    """Remove a step and every step inside it (and their test outputs); return where it was."""
    draft = _changed(session, workflow)
    found = draft.locate(key)
    for inner in draft_tree.each([found.step]):
        draft.samples.pop(str(inner["key"]), None)
        draft.hold(str(inner["key"]), {})
    del found.siblings[found.index]
    return drafts.store(session, draft), Moved(found.slot, found.index, [])


def set_step_enabled(
    session: Session, workflow: Workflow, key: str, enabled: bool
) -> tuple[drafts.Draft, int]:
    """Turn a step on or off (a disabled step is skipped when the workflow runs)."""
    draft = _changed(session, workflow)
    found = draft.locate(key)
    found.step["enabled"] = enabled
    return drafts.store(session, draft), found.index


# -- branches of a paths step ------------------------------------------------------------------


def _paths(draft: drafts.Draft, key: str) -> draft_tree.Found:
    found = draft.locate(key)
    if kind_of(found.step) != "paths":
        raise NotFoundError(f"paths step {key!r}")
    return found


def branch_index(paths: dict[str, Any], branch: str) -> int:
    for index, item in enumerate(paths.get("branches") or []):
        if item.get("key") == branch:
            return index
    raise NotFoundError(f"branch {branch!r}")


def add_branch(session: Session, workflow: Workflow, key: str) -> tuple[drafts.Draft, str]:
    """Add a branch (before "Otherwise") to a paths step; return its key."""
    draft = _changed(session, workflow)
    paths = _paths(draft, key).step
    branches = paths.setdefault("branches", [])
    if len(branches) >= MAX_BRANCHES:
        message = f"A paths step has at most {MAX_BRANCHES} branches."
        raise InvalidInputError(message, field="branches")
    taken = {str(b.get("key")) for b in branches}
    letter = next(chr(c) for c in range(ord("a"), ord("z") + 1) if chr(c) not in taken)
    branches.append(new_branch(letter, len(branches) + 1))
    return drafts.store(session, draft), letter


def update_branch(
    session: Session,
    workflow: Workflow,
    key: str,
    branch: str,
    name: str,
    condition: dict[str, Any] | None,
) -> drafts.Draft:
    """Rename a branch and set its condition; every refused field is reported at once (the
    first raised, the others on `.problems`, like draft_edits.ProblemsFoundError)."""
    draft = _changed(session, workflow)
    found = _paths(draft, key)
    index = branch_index(found.step, branch)
    where = f"{found.where}.branches.{index}"
    problems: list[InvalidInputError] = []
    name = name.strip()
    if not 1 <= len(name) <= 100:
        problems.append(
            InvalidInputError("Give the branch a name (at most 100 characters).", f"{where}.name")
        )
    if condition is None:
        problems.append(
            InvalidInputError("Add at least one condition.", f"{where}.condition.conditions")
        )
    else:
        problems += [
            InvalidInputError(p.message, (p.field or "").replace(".run_if", ".condition", 1))
            for p in run_if_problems(condition, where)
        ]
    if problems:
        raise ProblemsFoundError(problems)
    item = found.step["branches"][index]
    item.update(name=name, condition=condition)
    return drafts.store(session, draft)


def delete_branch(
    session: Session, workflow: Workflow, key: str, branch: str
) -> tuple[drafts.Draft, str]:
    """Remove a branch and its steps (a paths step keeps at least two); return its name."""
    draft = _changed(session, workflow)
    paths = _paths(draft, key).step
    if branch == OTHERWISE:
        raise InvalidInputError("“Otherwise” stays: leave it empty to do nothing.", "branch")
    index = branch_index(paths, branch)
    if len(paths["branches"]) <= MIN_BRANCHES:
        message = f"A paths step has at least {MIN_BRANCHES} branches."
        raise InvalidInputError(message, field="branches")
    removed = paths["branches"].pop(index)
    for inner in draft_tree.each(removed.get("steps") or []):
        draft.samples.pop(str(inner["key"]), None)
        draft.hold(str(inner["key"]), {})
    return drafts.store(session, draft), str(removed.get("name") or branch)
