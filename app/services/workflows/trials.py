"""Sample data in the editor: what a step can read, and "test this step".

A step reads the trigger's data and the outputs of the steps before it. In the editor those are
the trigger's sample data and each earlier step's last test output, falling back to what the
workflow's most recent executions received and produced.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.crypto import SecretBox
from app.engine.context import ExecutionContext
from app.engine.errors import TemplateError
from app.engine.program import readable_keys
from app.engine.runner import Runner
from app.engine.templating import Renderer
from app.engine.trial import Trial
from app.models import Execution, ExecutionStep, Workflow
from app.services.errors import NotFoundError
from app.services.workflows import crud, draft_edits, drafts, tree

# Executions looked at for outputs of steps that were never tested.
RECENT_EXECUTIONS = 20
# A test runs outside any execution: this is its execution id in templates and idempotency keys.
TEST_EXECUTION_ID = 0
_renderer = Renderer()


@dataclass(frozen=True)
class TimedTrial(Trial):
    """A trial and how long the step took (seconds, wall clock, rendering included)."""

    seconds: float = 0.0


@dataclass(frozen=True)
class EarlierStep:
    key: str
    name: str
    enabled: bool
    output: dict[str, Any] | None


@dataclass(frozen=True)
class LoopSample:
    """A loop around a step: `loop.item` stands for `item`, the first item of the loop's
    list rendered with the sample data (None when it cannot be rendered yet)."""

    key: str
    name: str
    items: str  # the loop's list, as written
    item: Any = None
    count: int | None = None  # items in the rendered list
    note: str = ""  # why there is no sample item


@dataclass(frozen=True)
class Available:
    """What a step can read: the trigger's sample data, the outputs of the steps it can see
    (services.workflows.draft_tree), and the loops around it (innermost first)."""

    trigger: dict[str, Any]
    trigger_is_sample: bool  # False: taken from the latest execution, or nothing yet
    steps: list[EarlierStep]
    loops: list[LoopSample] = field(default_factory=list)

    def step_outputs(self) -> dict[str, Any]:
        """`steps.<key>` as the step will see it: outputs of the earlier enabled steps."""
        return {s.key: s.output for s in self.steps if s.enabled and s.output is not None}


def _recent(session: Session, workflow_id: int) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Trigger data of the latest execution, and the latest completed output of each step key
    over the recent executions."""
    ids = list(
        session.scalars(
            select(Execution.id)
            .where(Execution.workflow_id == workflow_id)
            .order_by(Execution.created_at.desc(), Execution.id.desc())
            .limit(RECENT_EXECUTIONS)
        )
    )
    if not ids:
        return None, {}
    trigger = session.scalar(select(Execution.trigger_data).where(Execution.id == ids[0]))
    outputs: dict[str, Any] = {}
    rows = session.execute(
        select(ExecutionStep.action_key, ExecutionStep.output)
        .where(ExecutionStep.execution_id.in_(ids), ExecutionStep.status == "completed")
        .order_by(ExecutionStep.execution_id.desc())
    )
    for key, output in rows:
        if isinstance(output, dict):
            outputs.setdefault(key, output)
    return trigger, outputs


def available(session: Session, workflow: Workflow, draft: drafts.Draft, key: str) -> Available:
    """What the step `key` of the draft can read: the steps before it in its list and, for
    each container around it, the container and the steps before it (in run order), and
    `loop.*` inside a loop."""
    last_trigger, last_outputs = _recent(session, workflow.id)
    sample = draft.trigger.get("sample_data")
    order = draft.keys()
    readable = sorted(readable_keys(draft.steps, key), key=order.index)
    earlier = []
    for readable_key in readable:
        step = draft.step(readable_key)
        earlier.append(
            EarlierStep(
                key=readable_key,
                name=str(step.get("name") or readable_key),
                enabled=bool(step.get("enabled", True)),
                output=draft.samples.get(readable_key, last_outputs.get(readable_key)),
            )
        )
    trigger = sample if isinstance(sample, dict) else (last_trigger or {})
    reads = Available(trigger, isinstance(sample, dict), earlier)
    return replace(reads, loops=_loops(draft, key, reads))


def _loops(draft: drafts.Draft, key: str, reads: Available) -> list[LoopSample]:
    """The loops around step `key`, innermost first, each with a sample item: its list
    rendered with the sample data (an outer loop's sample item standing for `loop.item`)."""
    found: list[LoopSample] = []
    outer: dict[str, Any] | None = None
    for container in draft.locate(key).containers:
        step = draft.step(container)
        if step.get("type") != "loop":
            continue
        items = (step.get("config") or {}).get("items")
        variables: dict[str, Any] = {"trigger": reads.trigger, "steps": reads.step_outputs()}
        if outer is not None:
            variables["loop"] = outer
        sample = LoopSample(container, str(step.get("name") or container), str(items or ""))
        try:
            rendered = _renderer.render(items, variables, "items") if items else None
        except TemplateError:
            rendered = None
        if isinstance(rendered, list):
            first = rendered[0] if rendered else None
            sample = replace(sample, item=first, count=len(rendered))
            if not rendered:
                sample = replace(sample, note="the list is empty with the sample data")
        else:
            sample = replace(sample, note="set its list and give the trigger sample data")
        found.insert(0, sample)
        outer = _variables(sample, outer)
    return found


def _variables(sample: LoopSample, outer: dict[str, Any] | None) -> dict[str, Any]:
    """`loop.*` in the first iteration of a loop whose sample item is `sample.item`."""
    count = sample.count or 0
    variables = {"item": sample.item, "index": 0, "first": True, "last": count <= 1}
    variables["count"] = count
    if outer is not None:
        variables["parent"] = outer
    return variables


def loop_variables(loops: list[LoopSample]) -> dict[str, Any] | None:
    """`loop.*` as a test of a step inside these loops (innermost first) sees it: the first
    iteration of each, on its sample item; None outside any loop."""
    variables = None
    for sample in reversed(loops):
        variables = _variables(sample, variables)
    return variables


def test_step(
    session: Session, workflow: Workflow, key: str, runner: Runner
) -> tuple[drafts.Draft, TimedTrial]:
    """Run one step of the draft now with the sample data; keep its output as its sample.

    Outside effects really happen (the editor says so for actions that send)."""
    draft = drafts.load(session, workflow)
    step = dict(draft.step(key))
    reads = available(session, workflow, draft, key)
    context = ExecutionContext(
        execution_id=TEST_EXECUTION_ID,
        workflow_id=workflow.id,
        workflow_name=str(draft.spec["name"]),
        user_id=workflow.user_id,
        trigger=reads.trigger,
        steps=reads.step_outputs(),
        loop=loop_variables(reads.loops),
        timezone=str((draft.spec.get("settings") or {}).get("timezone") or "UTC"),
    )
    session.commit()  # no transaction stays open while the action talks to the outside world
    started = time.perf_counter()
    ran = runner.run_once(step, context)
    trial = TimedTrial(**vars(ran), seconds=time.perf_counter() - started)
    if trial.output is not None:
        draft = drafts.load(session, workflow, for_update=True)
        if key in draft.keys():
            draft.samples[key] = trial.output
            drafts.store(session, draft)
    return draft, trial


def test_saved_step(
    session: Session,
    workflow: Workflow,
    key: str,
    trigger: dict[str, Any],
    earlier: dict[str, Any],
    runner: Runner,
) -> TimedTrial:
    """Run one step of the saved definition now on the given trigger data and earlier steps'
    outputs (the API's "test one step"); nothing is recorded and outside effects happen."""
    saved = crud.snapshot(workflow)["actions"]  # a step anywhere in the tree, by key
    actions = {str(place.step["key"]): dict(place.step) for place in tree.walk(saved)}
    if key not in actions:
        raise NotFoundError(f"step {key!r} of workflow {workflow.id}")
    context = ExecutionContext(
        execution_id=TEST_EXECUTION_ID,
        workflow_id=workflow.id,
        workflow_name=workflow.name,
        user_id=workflow.user_id,
        trigger=trigger,
        steps=earlier,
        timezone=str((workflow.settings or {}).get("timezone") or "UTC"),
    )
    session.commit()  # no transaction stays open while the action talks to the outside world
    started = time.perf_counter()
    ran = runner.run_once(actions[key], context)
    return TimedTrial(**vars(ran), seconds=time.perf_counter() - started)


def apply_and_test(
    session: Session,
    workflow: Workflow,
    key: str,
    changes: draft_edits.StepChanges,
    secrets: SecretBox,
    runner: Runner,
) -> tuple[drafts.Draft, str, TimedTrial]:
    """The step panel's "Test this step": apply the panel, then test the step as applied."""
    _, key = draft_edits.update_step(session, workflow, key, changes, secrets, runner.actions)
    draft, trial = test_step(session, workflow, key, runner)
    return draft, key, trial
