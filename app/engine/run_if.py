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


def skip_output(
    renderer: Renderer, run_if: Mapping[str, Any], variables: Mapping[str, Any]
) -> dict[str, Any] | None:
    """None when the step runs; else the skipped step's output: `{"skipped": "run_if",
    "match", "conditions": [the rendered conditions], "results": [what each gave]}`. A
    template that fails is a TemplateError naming the field (`run_if.conditions.0.left`)."""
    rendered = renderer.render(dict(run_if), variables, "run_if")
    try:
        conditions = ConditionSet.model_validate(rendered)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(["run_if", *(str(p) for p in error["loc"])])
        raise ConfigError(f"{where}: {error['msg']}") from None
    passed, results = evaluate(conditions.conditions, conditions.match)
    if passed:
        return None
    return {
        "skipped": SKIPPED_BY,
        "match": conditions.match,
        "conditions": rendered.get("conditions"),
        "results": results,
    }
