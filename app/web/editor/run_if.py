"""The step panel's "Run only if" section: the filter's condition builder (the same widget,
picked from app.actions.conditions.ConditionSet), its inputs named `run_if.<field>`.

What it shows for a step's stored `run_if`, and what a post means: the conditions, or None
when every row is blank (the step always runs). A paths step's branch panel uses the same
builder on inputs `condition.<field>` (`prefix=BRANCH_PREFIX`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from app.actions.conditions import ConditionSet
from app.web.editor import forms, rows

PREFIX = "run_if."
BRANCH_PREFIX = "condition."
# Not required here: no condition at all means the step always runs.
FIELDS = [dataclasses.replace(f, required=False) for f in forms.form_fields(ConditionSet)]
INPUTS = tuple(PREFIX + f.name for f in FIELDS)


def _own(form: Mapping[str, str], prefix: str = PREFIX) -> dict[str, str]:
    """The section's inputs only ("Edit as JSON" of the config is not about them)."""
    return {name: form[name] for name in form if name.startswith(prefix)}


def in_form(form: Mapping[str, str] | None) -> bool:
    """Whether a post holds a condition typed in the builder (a row not blank)."""
    own = _own(form or {})
    return any(value.strip() for name, value in own.items() if name.endswith(("-left", "-right")))


def posted(
    form: Mapping[str, str], *, as_typed: bool = False, prefix: str = PREFIX
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The conditions a post means (None: no condition, the step always runs) and what
    could not be read, by input name; `as_typed` keeps rows that cannot be read as they were
    typed (for the draft, which never loses an edit)."""
    own = _own(form, prefix)
    parsed = forms.parse(FIELDS, own, prefix)
    if parsed.errors and as_typed:
        typed = [
            row
            for row in rows.posted_conditions(own, f"{prefix}conditions")
            if "conditions" in row or str(row.get("left", "")) + str(row.get("right", ""))
        ]
        return {"match": own.get(f"{prefix}match", "all"), "conditions": typed}, parsed.errors
    if parsed.errors or not parsed.config.get("conditions"):
        return None, parsed.errors
    return parsed.config, {}


def shown(run_if: Any, prefix: str = PREFIX) -> dict[str, Any]:
    """What the builder shows for a stored `run_if` (blank rows when there is none)."""
    return forms.shown_values(FIELDS, run_if if isinstance(run_if, Mapping) else {}, prefix)


def shown_posted(form: Mapping[str, str], prefix: str = PREFIX) -> dict[str, Any]:
    """What the builder shows again after a refused post: exactly what was typed."""
    return forms.posted_values(FIELDS, _own(form, prefix), prefix)
