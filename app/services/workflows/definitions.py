"""A saved workflow's definition read back from its rows: as data (export, the API, drafts,
History) and as the snapshot an execution runs.

A workflow keeps one `actions` row per step of the whole tree, in pre-order (`position`): a
loop's or paths step's row comes before the steps it holds, which name it (`parent_key`) and,
in a paths step, their branch (`branch`: its key, or "otherwise"); a paths row keeps its
branches' names and conditions (`flow`). `nest` turns the rows back into the tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from app.engine.redaction import REDACTED
from app.engine.registry import ActionRegistry, Handlers, TriggerRegistry
from app.models import Action, Workflow
from app.services.workflows import tree
from app.services.workflows.flow_rules import LOOP
from app.services.workflows.specs import WorkflowSpec


def nest(actions: Iterable[Action], node: Callable[[Action], dict[str, Any]]) -> list[Any]:
    """The rows as a tree of `node(row)` dicts: a loop's gets `steps`, a paths step's
    `branches` (key, name, condition, steps) and `otherwise` (name, steps; or None)."""
    top: list[Any] = []
    lists: dict[tuple[str, str | None], list[Any]] = {}
    for action in sorted(actions, key=lambda a: a.position):
        item = node(action)
        if action.type == LOOP:
            item["steps"] = lists[(action.key, None)] = []
        if action.flow is not None:
            item["branches"] = []
            for branch in action.flow.get("branches") or []:
                steps: list[Any] = []
                lists[(action.key, str(branch["key"]))] = steps
                item["branches"].append({**branch, "steps": steps})
            otherwise = action.flow.get("otherwise")
            item["otherwise"] = None
            if otherwise is not None:
                steps = lists[(action.key, tree.OTHERWISE)] = []
                item["otherwise"] = {**otherwise, "steps": steps}
        if action.parent_key is None:
            top.append(item)
        else:
            lists.setdefault((action.parent_key, action.branch), []).append(item)
    return top


def to_spec(workflow: Workflow, handlers: Handlers) -> WorkflowSpec:
    """The definition as data; secret values are left out (export, API)."""

    def secret_fields(registry: ActionRegistry | TriggerRegistry, type_: str) -> frozenset[str]:
        return registry.get(type_).secret_fields() if type_ in registry else frozenset()

    return _spec(
        workflow,
        lambda type_: secret_fields(handlers.actions, type_),
        lambda type_: secret_fields(handlers.triggers, type_),
    )


def stored_spec(workflow: Workflow) -> WorkflowSpec:
    """The definition as stored, secret values included (encrypted): what a draft starts from."""
    return _spec(workflow, lambda type_: frozenset(), lambda type_: frozenset())


def _spec(
    workflow: Workflow,
    action_secrets: Callable[[str], frozenset[str]],
    trigger_secrets: Callable[[str], frozenset[str]],
) -> WorkflowSpec:
    """The definition as data, without the config fields the two functions name by type."""

    def step(action: Action) -> dict[str, Any]:
        left_out = action_secrets(action.type)
        return {
            "key": action.key,
            "type": action.type,
            "name": action.name,
            "config": {k: v for k, v in action.config.items() if k not in left_out},
            "retry": action.retry or None,
            "enabled": action.enabled,
            "continue_on_error": action.continue_on_error,
            "run_if": action.run_if,
        }

    trigger = workflow.trigger
    hidden = trigger_secrets(trigger.type) if trigger else frozenset()
    return WorkflowSpec.model_validate(
        {
            "name": workflow.name,
            "description": workflow.description,
            "trigger": {
                "type": trigger.type if trigger else "manual",
                "config": (
                    {k: v for k, v in trigger.config.items() if k not in hidden} if trigger else {}
                ),
                "sample_data": trigger.sample_data if trigger else None,
            },
            "steps": nest(workflow.actions, step),
            "run_key_template": workflow.run_key_template,
            "settings": workflow.settings or {},
        }
    )


def snapshot(workflow: Workflow) -> dict[str, Any]:
    """The frozen definition an execution runs (secrets stay encrypted inside): the top-level
    action dicts, loop and paths steps carrying the lists they hold."""
    trigger = workflow.trigger

    def action_dict(a: Action) -> dict[str, Any]:
        return {
            "key": a.key,
            "type": a.type,
            "name": a.name,
            "config": a.config,
            "retry": a.retry,
            "enabled": a.enabled,
            "continue_on_error": a.continue_on_error,
            "run_if": a.run_if,
        }

    return {
        "workflow": {
            "id": workflow.id,
            "name": workflow.name,
            "version": workflow.version,
            "settings": workflow.settings or {},
        },
        "trigger": {
            "type": trigger.type if trigger else "manual",
            "config": trigger.config if trigger else {},
        },
        "actions": nest(workflow.actions, action_dict),
    }


def masked_spec(workflow: Workflow, handlers: Handlers) -> WorkflowSpec:
    """The definition as the API shows it: a secret that is set reads as the mask, and saving
    the mask back keeps the stored secret (export uses `to_spec`, which leaves secrets out)."""
    spec = to_spec(workflow, handlers).model_dump(mode="json")
    rows = {action.key: action for action in workflow.actions}
    for place in tree.walk(spec["steps"]):
        action = rows.get(str(place.step.get("key")))
        if action is None or action.type not in handlers.actions:
            continue
        for name in handlers.actions.get(action.type).secret_fields():
            if action.config.get(name):
                place.step["config"][name] = REDACTED
    trigger = workflow.trigger
    if trigger is not None and trigger.type in handlers.triggers:
        for name in handlers.triggers.get(trigger.type).secret_fields():
            if trigger.config.get(name):
                spec["trigger"]["config"][name] = REDACTED
    return WorkflowSpec.model_validate(spec)
