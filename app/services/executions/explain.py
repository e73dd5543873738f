"""Why a step of a run did what it did, in words: which conditions a filter checked and with
which values, and why a step was skipped (a filter stopped the run, the step was turned off, an
earlier step failed, the run was cancelled, a re-run started later).

Nothing here is recorded for the purpose: the run already stores all of it. A filter step's
`input` is its config as rendered at run time (the values each condition saw), its `output`
says what each condition gave, and the execution's snapshot keeps the templates as written
(`{{ trigger.body.amount }}`). Pure functions of an `ExecutionDetail`; no database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.actions.conditions import OPERATOR_WORDS, UNARY
from app.models import Execution, ExecutionStep
from app.services.executions.step_views import ExecutionDetail, StepView

SHOWN_CHARS = 80
SINGLE_EXPRESSION = re.compile(r"^\{\{\s*([^{}]+?)\s*\}\}$")
FILTER = "filter"


@dataclass(frozen=True)
class Check:
    """One condition as it ran: what was written, the value it saw, and whether it held."""

    source: str  # the template's expression ("trigger.body.amount"), or the value written
    value: str  # what the left side was at run time, as short text
    words: str  # the operator in words ("is greater than")
    right: str  # the right side at run time ("" for is_empty, is_true…)
    held: bool | None  # None: not recorded
    templated: bool  # the left side was a template (its value is worth showing)
    recorded: bool = True  # False: the run kept no input, the values are not known

    @property
    def text(self) -> str:
        """`trigger.body.amount` (= 12) is greater than 100."""
        if not self.recorded:
            return f"{self.source} {self.words} {self.right}".rstrip() + " (values not recorded)"
        left = f"{self.source} (= {self.value})" if self.templated else self.value
        return f"{left} {self.words} {self.right}".rstrip()


@dataclass(frozen=True)
class Group:
    """A group of conditions that hold together (all) or either way (any)."""

    match: str
    held: bool | None
    checks: list[Check]


@dataclass(frozen=True)
class Verdict:
    """What a filter step decided: every condition (or group) with its result."""

    position: int
    name: str
    passed: bool
    match: str  # "all" or "any"
    items: list[Check | Group]
    address: str = ""  # where the step is ("3/1"); "" for the top-level step at `position`

    @property
    def label(self) -> str:
        return self.address or str(self.position + 1)


@dataclass(frozen=True)
class Story:
    """What the page says about one step beyond its status: why it was skipped, what a
    filter decided."""

    skipped: str = ""  # "Skipped: …" in one sentence; empty for a step that was not skipped
    verdict: Verdict | None = None  # the filter's own decision, or the one that stopped the run
    # When one condition decided: the sentence up to it, and the condition (for markup).
    lead: str = ""
    decisive: Check | None = None


def _short(value: Any) -> str:
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _source(written: Any) -> tuple[str, bool]:
    """The left side as written: a single template's expression, a template as is, or None
    when it holds no template (its value then says it all)."""
    if isinstance(written, str) and "{{" in written:
        single = SINGLE_EXPRESSION.match(written.strip())
        return (single.group(1) if single else written), True
    return "", False


def _words(operator: str) -> str:
    return OPERATOR_WORDS.get(operator, operator.replace("_", " "))


def _check(written: Mapping[str, Any], seen: Mapping[str, Any], held: Any) -> Check:
    operator = str(seen.get("operator") or written.get("operator") or "equals")
    source, templated = _source(written.get("left"))
    left = seen.get("left", written.get("left"))
    right = "" if operator in UNARY else _short(seen.get("right", written.get("right")))
    if seen is written and templated:  # the run kept no input: what the template gave is unknown
        return Check(source, "", _words(operator), right, None, True, recorded=False)
    return Check(
        source=source,
        value=_short(left),
        words=_words(operator),
        right=right,
        held=held if isinstance(held, bool) else None,
        templated=templated,
    )


def items_of(
    written: Sequence[Any], seen: Sequence[Any], results: Sequence[Any]
) -> list[Check | Group]:
    items: list[Check | Group] = []
    for index, item in enumerate(seen):
        if not isinstance(item, Mapping):
            continue
        source = written[index] if index < len(written) else {}
        source = source if isinstance(source, Mapping) else {}
        result = results[index] if index < len(results) else None
        if isinstance(item.get("conditions"), list):
            inner = result.get("results", []) if isinstance(result, Mapping) else []
            inner_written = source.get("conditions") or []
            checks = [c for c in items_of(inner_written, item["conditions"], inner) if c]
            held = result.get("passed") if isinstance(result, Mapping) else None
            group_checks = [c for c in checks if isinstance(c, Check)]
            match = str(item.get("match") or "all")
            items.append(Group(match, held if isinstance(held, bool) else None, group_checks))
        else:
            items.append(_check(source, item, result))
    return items


def verdict(step: ExecutionStep, action: Mapping[str, Any], name: str) -> Verdict | None:
    """A filter step's decision with the values its conditions saw; None when it did not run
    to a decision (or is not a filter)."""
    output = step.output
    if step.action_type != FILTER or not isinstance(output, Mapping):
        return None
    passed = output.get("passed")
    if not isinstance(passed, bool):
        return None
    written = action.get("config") or {}
    seen = step.input if isinstance(step.input, Mapping) else {}
    conditions = seen.get("conditions") or written.get("conditions") or []
    results = output.get("results") or []
    items = items_of(written.get("conditions") or [], conditions, results)
    match = str(seen.get("match") or written.get("match") or "all")
    return Verdict(step.position, name, passed, match, items, step.address)


def run_if_verdict(step: ExecutionStep, action: Mapping[str, Any], name: str) -> Verdict | None:
    """A step's "Run only if" that did not hold, with the values its conditions saw (from the
    skipped step's output, app.engine.run_if); None for a step it did not skip."""
    output = step.output
    if not isinstance(output, Mapping) or output.get("skipped") != "run_if":
        return None
    written = action.get("run_if") or {}
    seen = output.get("conditions") or written.get("conditions") or []
    items = items_of(written.get("conditions") or [], seen, output.get("results") or [])
    match = str(output.get("match") or "all")
    return Verdict(step.position, name, False, match, items, step.address)


def _held_text(held: bool | None) -> str:
    return "held" if held else "did not hold"


def _run_if_sentence(verdict: Verdict) -> str:
    """ "Skipped: “Run only if” (all of) did not hold: 99 is greater than 100 (did not hold)."."""

    def said(check: Check) -> str:
        right = f" {check.right}" if check.right else ""
        return f"{check.value} {check.words}{right} ({_held_text(check.held)})"

    parts = [
        f"a group ({item.match} of: {'; '.join(said(c) for c in item.checks)}) "
        f"{_held_text(item.held)}"
        if isinstance(item, Group)
        else said(item)
        for item in verdict.items
    ]
    match = "any" if verdict.match == "any" else "all"
    return f"Skipped: “Run only if” ({match} of) did not hold: {'; '.join(parts)}."


def decisive(verdict: Verdict) -> Check | None:
    """The one condition that made a filter false, when one alone did."""
    failing = [item for item in verdict.items if item.held is False]
    if len(failing) == 1 and isinstance(failing[0], Check):
        if verdict.match == "all" or len(verdict.items) == 1:
            return failing[0]
    return None


def because(verdict: Verdict) -> str:
    """What decided a false filter: the one condition that failed, with its values, or how
    many did."""
    one = decisive(verdict)
    if one is not None:
        return f"{one.text} was false"
    if verdict.match == "any":
        return "none of its conditions held"
    failing = sum(1 for item in verdict.items if item.held is False)
    return f"{failing or 'some'} of its {len(verdict.items)} conditions did not hold"


def _scope(detail: ExecutionDetail, step: ExecutionStep) -> tuple[int | None, str, str]:
    """The list a step run is in: its container's position (None at top level), the frame,
    and what a filter there stops: "the run", "this iteration", "this branch"."""
    nodes = detail.program.nodes
    parent = nodes[step.position].parent if step.position < len(nodes) else None
    if parent is None:
        return None, step.frame, "the run"
    ends = "this iteration" if nodes[parent].kind == "loop" else "this branch"
    return parent, step.frame, ends


def stories(detail: ExecutionDetail) -> dict[int, Story]:
    """What to say about each step of the execution page, by step id (see `Story`)."""
    execution: Execution = detail.execution
    flat = detail.program.flat
    told: dict[int, Story] = {}
    # The false filter of each list run (a stop ends its list: the run, an iteration, a branch).
    stoppers: dict[tuple[int | None, str], Verdict] = {}
    failed: StepView | None = None
    ran = False
    for view in detail.steps:
        step: ExecutionStep = view.step
        action = flat[step.position] if step.position < len(flat) else {}
        decided = verdict(step, action, view.name)
        parent, frame, ends = _scope(detail, step)
        if step.status != "skipped":
            ran = ran or step.started_at is not None
            if decided is not None:
                told[step.id] = Story(verdict=decided)
                if not decided.passed:
                    stoppers[(parent, frame)] = decided
            if step.status == "failed" and not action.get("continue_on_error"):
                failed = view
            continue
        own = run_if_verdict(step, action, view.name)
        if own is not None:  # its own condition skipped it: each check said, values and all
            told[step.id] = Story(_run_if_sentence(own), own)
            continue
        stopper = stoppers.get((parent, frame))
        text, behind = _skip(action, stopper, ends, failed, execution, ran)
        one = decisive(behind) if behind is not None else None
        lead = text.removesuffix(f"{one.text} was false.") if one else ""
        told[step.id] = Story(text, behind, lead, one)
    return told


def _skip(
    action: Mapping[str, Any],
    stopper: Verdict | None,
    ends: str,
    failed: StepView | None,
    execution: Execution,
    ran: bool,
) -> tuple[str, Verdict | None]:
    """Why a skipped step did not run, and the filter decision behind it if there is one."""
    if not action.get("enabled", True):
        return "Skipped: this step was turned off in the version that ran.", None
    if stopper is not None:
        where = f"the filter “{stopper.name}” (step {stopper.label}) stopped {ends}"
        return f"Skipped: {where}: {because(stopper)}.", stopper
    if failed is not None:
        within = f" in {failed.iteration_text}" if failed.items else ""
        return f"Not run: step {failed.label} “{failed.name}” failed{within}.", None
    if execution.status == "cancelled":
        return "Not run: the run was cancelled.", None
    if execution.rerun_of_id is not None and not ran:
        return "Skipped: this re-run started at a later step.", None
    return "Skipped.", None
