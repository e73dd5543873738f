"""A step's "Run only if": its conditions, rendered and checked before the action runs.

The conditions are the filter's (app.actions.conditions: operators, all/any, groups); their
`left` and `right` are rendered in the sandbox like the step's config, at the step's turn. When
they do not hold, the step is skipped: its output records the conditions with the values they
saw and which held, and the run goes on with the next step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from app.actions.conditions import ConditionSet, evaluate
from app.engine.errors import ConfigError
from app.engine.templating import Renderer

SKIPPED_BY = "run_if"  # the `skipped` marker of a skipped step's output
PATHS = "paths"  # the action type whose branches' conditions choose where a run goes
OTHERWISE = "otherwise"


def check(
    renderer: Renderer, condition: Mapping[str, Any], variables: Mapping[str, Any], where: str
) -> tuple[bool, dict[str, Any]]:
    """Render and check a condition set: whether it holds, and what it saw: `{"match",
    "conditions": [the rendered conditions], "results": [what each gave]}`. A template that
    fails is a TemplateError naming the field (`<where>.conditions.0.left`)."""
    rendered = renderer.render(dict(condition), variables, where)
    try:
        conditions = ConditionSet.model_validate(rendered)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join([where, *(str(p) for p in error["loc"])])
        raise ConfigError(f"{path}: {error['msg']}") from None
    passed, results = evaluate(conditions.conditions, conditions.match)
    seen = {"match": conditions.match, "conditions": rendered.get("conditions"), "results": results}
    return passed, seen


def skip_output(
    renderer: Renderer, run_if: Mapping[str, Any], variables: Mapping[str, Any]
) -> dict[str, Any] | None:
    """None when the step runs; else the skipped step's output: `{"skipped": "run_if",
    "match", "conditions", "results"}` (see `check`)."""
    passed, seen = check(renderer, run_if, variables, "run_if")
    return None if passed else {"skipped": SKIPPED_BY, **seen}


def choose_paths(
    renderer: Renderer, action: Mapping[str, Any], mode: Any, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """A paths step's decision: its branches' conditions checked in order (in mode "first",
    until one holds), and "otherwise" when none held. The output is the step's record of why:
    `{"mode", "taken": [branch keys], "branches": [{"key", "name", "matched", "checked",
    "match", "conditions", "results"}], "otherwise": whether it runs}`."""
    mode = "all" if mode == "all" else "first"
    taken: list[str] = []
    branches = []
    for index, branch in enumerate(action.get("branches") or []):
        key = branch.get("key") or chr(ord("a") + index)
        entry: dict[str, Any] = {"key": key, "name": branch.get("name") or key}
        if mode == "first" and taken:
            branches.append({**entry, "matched": False, "checked": False})
            continue
        where = f"branches.{index}.condition"
        passed, seen = check(renderer, branch.get("condition") or {}, variables, where)
        branches.append({**entry, "matched": passed, "checked": True, **seen})
        if passed:
            taken.append(key)
    otherwise = action.get("otherwise") is not None and not taken
    if otherwise:
        taken.append(OTHERWISE)
    return {"mode": mode, "taken": taken, "branches": branches, "otherwise": otherwise}
