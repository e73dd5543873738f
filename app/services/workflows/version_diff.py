"""What changed between two saved definitions of a workflow, in words History can show.

Both sides are WorkflowSpec JSON (`crud.to_spec(...).model_dump(mode="json")`, as stored
in WorkflowVersion.spec). Steps are matched by their key anywhere in the tree (keys are unique
in it): a key only on the left was removed, only on the right added; of the steps on both
sides, those now in another list (a loop's, a branch's) and those outside their list's longest
common order were moved. A paths step's branches are matched by their key. Config fields
are compared by dotted path ("headers.Accept"), values shown short.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.services.workflows import tree

VALUE_CHARS = 60
MISSING = object()


@dataclass(frozen=True)
class Change:
    """One difference: `kind` is added, removed, moved or changed; `where` names the part
    ("Step “Shape”", "Trigger", "Workflow"); `field` the changed field, if any."""

    kind: str
    where: str
    field: str | None = None
    before: str | None = None
    after: str | None = None

    def __str__(self) -> str:
        if self.kind == "changed" and self.field:
            return f"{self.where}: {self.field} {self.before} → {self.after}"
        if self.kind == "moved":
            return f"{self.where} moved from position {self.before} to {self.after}"
        return f"{self.where} {self.kind}"


def shown(value: Any) -> str:
    """A value as History shows it: JSON, one line, at most VALUE_CHARS characters."""
    if value is MISSING:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A nested mapping as {dotted path: leaf}; lists and scalars are leaves."""
    if not isinstance(value, dict) or (prefix and not value):
        return {prefix: value} if prefix else {}
    flat: dict[str, Any] = {}
    for key, inner in value.items():
        flat.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _fields(where: str, before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    left, right = flatten(before), flatten(after)
    changes = []
    for path in sorted(set(left) | set(right)):
        old, new = left.get(path, MISSING), right.get(path, MISSING)
        if old != new:
            changes.append(Change("changed", where, path, shown(old), shown(new)))
    return changes


def _settings(spec: dict[str, Any]) -> dict[str, Any]:
    """A definition's settings without their defaults (a version saved before settings
    existed has none: it had the defaults)."""
    found = spec.get("settings") or {}
    return {
        k: v for k, v in found.items() if v is not None and not (k == "timezone" and v == "UTC")
    }


def _common_order(left: list[str], right: list[str]) -> set[str]:
    """The keys of the longest subsequence both orders share (those did not move)."""
    rows, cols = len(left), len(right)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            table[i][j] = (
                table[i + 1][j + 1] + 1
                if left[i] == right[j]
                else max(table[i + 1][j], table[i][j + 1])
            )
    kept: set[str] = set()
    i = j = 0
    while i < rows and j < cols:
        if left[i] == right[j]:
            kept.add(left[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


def _label(step: dict[str, Any], address: str = "") -> str:
    """A step as History names it; one inside a loop or branch says where first (tree.words:
    Step 4, Branch b, step 2), a top-level one as always."""
    name = step.get("name") or step.get("key")
    if "/" in address:
        return f"{tree.words(address)} “{name}” ({step.get('type')})"
    return f"Step “{name}” ({step.get('type')})"


def _step_fields(step: dict[str, Any]) -> dict[str, Any]:
    """What of a step is compared field by field (its key and type identify it)."""
    fields = {"name": step.get("name", ""), "enabled": step.get("enabled", True)}
    fields["continue_on_error"] = step.get("continue_on_error", False)
    fields["retry"] = step.get("retry")
    fields["run_if"] = step.get("run_if")
    fields["config"] = step.get("config") or {}
    return fields


@dataclass(frozen=True)
class _Seen:
    """A step of one side: the step, where it is ("4/b/2"), and the list holding it."""

    step: dict[str, Any]
    address: str
    holder: tuple[str | None, str | None]  # (container key, branch)


def _seen(steps: list[dict[str, Any]]) -> dict[str, _Seen]:
    return {
        str(place.step.get("key")): _Seen(
            dict(place.step),
            tree.address(steps, str(place.step.get("key"))),
            (place.parent_key, place.branch),
        )
        for place in tree.walk(steps)
    }


def _moves(old: dict[str, _Seen], new: dict[str, _Seen], kept: list[str]) -> set[str]:
    """The kept steps that moved: to another list, or out of their list's common order."""
    moved = {k for k in kept if old[k].holder != new[k].holder}
    for holder in {new[k].holder for k in kept}:
        left = [k for k in old if k in kept and k not in moved and old[k].holder == holder]
        right = [k for k in kept if k not in moved and new[k].holder == holder]
        moved |= set(right) - _common_order(left, right)
    return moved


def _steps(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[Change]:
    old, new = _seen(before), _seen(after)
    changes = [Change("removed", _label(s.step, s.address)) for k, s in old.items() if k not in new]
    changes += [Change("added", _label(s.step, s.address)) for k, s in new.items() if k not in old]
    kept = [k for k in new if k in old]
    moved = _moves(old, new, kept)
    for key in kept:
        was, now = old[key], new[key]
        label = _label(now.step, now.address)
        if key in moved:
            changes.append(Change("moved", label, None, was.address, now.address))
        if was.step.get("type") != now.step.get("type"):
            types = shown(was.step.get("type")), shown(now.step.get("type"))
            changes.append(Change("changed", label, "type", *types))
        changes += _fields(label, _step_fields(was.step), _step_fields(now.step))
        changes += _branches(tree.words(now.address), was.step, now.step)
    return changes


def _branches(where: str, before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """What changed in a paths step's branches (by key) and its otherwise."""
    old = {str(b.get("key")): b for b in before.get("branches") or []}
    new = {str(b.get("key")): b for b in after.get("branches") or []}
    named = {k: f"{where}{tree.SEPARATOR}Branch {k}" for k in old.keys() | new.keys()}
    changes = [Change("removed", named[k]) for k in old if k not in new]
    changes += [Change("added", named[k]) for k in new if k not in old]
    left, right = [k for k in old if k in new], [k for k in new if k in old]
    still = _common_order(left, right)
    for key in right:
        if key not in still:
            places = str(list(old).index(key) + 1), str(list(new).index(key) + 1)
            changes.append(Change("moved", named[key], None, *places))
        fields = ("name", "condition")
        changes += _fields(
            named[key], {f: old[key].get(f) for f in fields}, {f: new[key].get(f) for f in fields}
        )
    was, now = before.get("otherwise"), after.get("otherwise")
    otherwise = f"{where}{tree.SEPARATOR}Otherwise"
    if was is None and now is not None:
        changes.append(Change("added", otherwise))
    elif was is not None and now is None:
        changes.append(Change("removed", otherwise))
    elif was is not None and now is not None:
        changes += _fields(otherwise, {"name": was.get("name")}, {"name": now.get("name")})
    return changes


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """The changes that turn definition `before` into `after`, workflow first, then trigger,
    then steps (removed, added, then the kept ones in their new order)."""
    changes = []
    for name in ("name", "description", "run_key_template"):
        old, new = before.get(name) or "", after.get(name) or ""
        if old != new:
            changes.append(Change("changed", "Workflow", name, shown(old), shown(new)))
    changes += _fields("Settings", _settings(before), _settings(after))
    old_trigger, new_trigger = before.get("trigger") or {}, after.get("trigger") or {}
    old_type, new_type = old_trigger.get("type", "manual"), new_trigger.get("type", "manual")
    if old_type != new_type:
        changes.append(Change("changed", "Trigger", "type", shown(old_type), shown(new_type)))
    trigger_fields = {
        "config": old_trigger.get("config") or {},
        "sample_data": old_trigger.get("sample_data"),
    }
    changes += _fields(
        "Trigger",
        trigger_fields,
        {"config": new_trigger.get("config") or {}, "sample_data": new_trigger.get("sample_data")},
    )
    changes += _steps(list(before.get("steps") or []), list(after.get("steps") or []))
    return changes
