"""Which branches a paths step took, and why, in words: each branch's condition with the values
it saw and whether it matched (the pieces `explain` uses for filters and "Run only if").

A paths step's `output` stores it all (app.engine: `{"mode", "taken": ["a"], "branches": [{"key",
"name", "matched", "match", "conditions" (rendered), "results"}], "otherwise": bool}`); the
snapshot keeps each branch's condition as written. Pure functions; no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.models import ExecutionStep
from app.services.executions.explain import Check, Group, Verdict, because, items_of
from app.services.executions.step_views import ExecutionDetail

PATHS = "paths"
OTHERWISE = "otherwise"


@dataclass(frozen=True)
class BranchOutcome:
    """One branch of a paths step as the run decided it."""

    key: str
    name: str
    taken: bool
    matched: bool | None  # None: not checked (or the otherwise branch)
    verdict: Verdict | None  # its conditions with the values they saw
    first_only: bool = False  # matched, but mode "first" ran an earlier branch

    @property
    def title(self) -> str:
        """ "Big orders” (a)", "Otherwise"."""
        return f"“{self.name}”" if self.key == OTHERWISE else f"“{self.name}” ({self.key})"

    @property
    def lead(self) -> str:
        return f"Took {self.title}" if self.taken else f"Not taken: {self.title}"

    @property
    def check(self) -> Check | None:
        """The one condition that decided, when there is one (shown with its values)."""
        v = self.verdict
        if v is None or not v.items or self.first_only:
            return None
        if self.matched is False:
            failing = [item for item in v.items if item.held is False]
            one = failing[0] if len(failing) == 1 else None
            return (
                one if isinstance(one, Check) and (v.match == "all" or len(v.items) == 1) else None
            )
        if self.matched and len(v.items) == 1 and isinstance(v.items[0], Check):
            return v.items[0]
        if self.matched and v.match == "any":
            held = [item for item in v.items if item.held]
            return held[0] if held and isinstance(held[0], Check) else None
        return None

    @property
    def reason(self) -> str:
        """Why, after the lead: the deciding condition as text, or what the conditions did."""
        if self.key == OTHERWISE:
            return "no branch matched" if self.taken else "a branch matched"
        if self.matched is None:
            return "not checked: an earlier branch was taken"
        if self.first_only:
            return "it matched too, but only the first matching branch runs"
        one = self.check
        if one is not None:
            return one.text if self.matched else f"{one.text} was false"
        v = self.verdict
        count = len(v.items) if v else 0
        if self.matched:
            return f"all {count} conditions held" if v and v.match == "all" else "a condition held"
        return because(v) if v else "its conditions did not hold"

    @property
    def text(self) -> str:
        """ "Took “Big orders” (a): trigger.body.amount (= 250) is greater than 100"."""
        return f"{self.lead}: {self.reason}"

    @property
    def tail(self) -> str:
        """What follows the deciding condition in the markup (" was false" or "")."""
        return "" if self.matched else " was false"


@dataclass(frozen=True)
class PathsDecision:
    """A paths step's decision: its mode and every branch, the otherwise branch last."""

    mode: str
    branches: list[BranchOutcome]

    @property
    def taken(self) -> list[BranchOutcome]:
        return [b for b in self.branches if b.taken]

    @property
    def headline(self) -> str:
        """ "Took “Big orders” (a)" / "No branch matched: nothing ran"."""
        taken = self.taken
        if not taken:
            return "No branch matched: nothing ran"
        return "Took " + " and ".join(b.title for b in taken)


def _verdict(
    step: ExecutionStep, written: Mapping[str, Any], seen: Mapping[str, Any], name: str
) -> Verdict:
    conditions = seen.get("conditions") or written.get("conditions") or []
    items: list[Check | Group] = items_of(
        written.get("conditions") or [], conditions, seen.get("results") or []
    )
    match = str(seen.get("match") or written.get("match") or "all")
    return Verdict(step.position, name, bool(seen.get("matched")), match, items, step.address)


def decision(step: ExecutionStep, action: Mapping[str, Any]) -> PathsDecision | None:
    """What a paths step decided, with the values its branches' conditions saw; None when it
    did not decide (still pending, failed) or is not a paths step."""
    output = step.output
    if step.action_type != PATHS or not isinstance(output, Mapping):
        return None
    taken = [str(key) for key in output.get("taken") or []]
    mode = str(output.get("mode") or (action.get("config") or {}).get("mode") or "first")
    seen = {str(b.get("key")): b for b in output.get("branches") or [] if isinstance(b, Mapping)}
    outcomes: list[BranchOutcome] = []
    for index, branch in enumerate(action.get("branches") or []):
        key = str(branch.get("key") or chr(ord("a") + index))
        name = str(branch.get("name") or key)
        got = seen.get(key)
        if got is None or got.get("checked") is False:  # mode first: an earlier one was taken
            outcomes.append(BranchOutcome(key, name, key in taken, None, None))
            continue
        written = branch.get("condition") or {}
        matched = got.get("matched")
        matched = matched if isinstance(matched, bool) else None
        verdict = _verdict(step, written, got, name)
        first_only = bool(matched) and key not in taken
        outcomes.append(BranchOutcome(key, name, key in taken, matched, verdict, first_only))
    otherwise = action.get("otherwise")
    if otherwise is not None:
        name = str(otherwise.get("name") or "Otherwise")
        ran = bool(output.get("otherwise")) or OTHERWISE in taken
        outcomes.append(BranchOutcome(OTHERWISE, name, ran, None, None))
    return PathsDecision(mode, outcomes)


def decisions(detail: ExecutionDetail) -> dict[int, PathsDecision]:
    """The decision of every paths step the page shows, by step id."""
    flat = detail.program.flat
    found: dict[int, PathsDecision] = {}
    for view in detail.steps:
        step = view.step
        if step.action_type == PATHS and step.position < len(flat):
            decided = decision(step, flat[step.position])
            if decided is not None:
                found[step.id] = decided
    return found
