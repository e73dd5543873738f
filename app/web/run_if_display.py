"""The execution page's line for a step skipped by its "Run only if": each condition with the
values it saw and whether it held (from the step's output, app.engine.run_if)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app.actions.conditions import OPERATOR_WORDS, UNARY
from app.web.blueprint import bp

VALUE_CHARS = 80


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def _condition(condition: Any, held: Any) -> str:
    if not isinstance(condition, Mapping):
        return ""
    operator = str(condition.get("operator") or "equals")
    words = OPERATOR_WORDS.get(operator, operator.replace("_", " "))
    text = f"{_shown(condition.get('left'))} {words}"
    if operator not in UNARY:
        text += f" {_shown(condition.get('right'))}"
    return f"{text} ({'held' if held else 'did not hold'})"


def _item(condition: Any, result: Any) -> str:
    if isinstance(result, Mapping) and isinstance(condition, Mapping):  # a group
        inner = zip(condition.get("conditions") or [], result.get("results") or [], strict=False)
        joined = "; ".join(_condition(c, r) for c, r in inner)
        verdict = "held" if result.get("passed") else "did not hold"
        return f"a group ({result.get('match', 'all')} of: {joined}) {verdict}"
    return _condition(condition, result)


@bp.app_template_filter("run_if_reason")
def run_if_reason(output: Any) -> str:
    """ "Skipped: Run only if (all of) did not hold: 42 is greater than 10 (held); …"."""
    if not isinstance(output, Mapping):
        return ""
    pairs = zip(output.get("conditions") or [], output.get("results") or [], strict=False)
    parts = [text for text in (_item(c, r) for c, r in pairs) if text]
    match = "all" if output.get("match", "all") == "all" else "any"
    return f"Skipped: “Run only if” ({match} of) did not hold: {'; '.join(parts)}."
