"""Workflow use cases: create, update, delete, enable/disable (reading a definition back, as
data or as an execution's snapshot: services.workflows.definitions).

The installed action and trigger handlers come in as `handlers` (the container's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from app.actions.base import BaseActionHandler
from app.crypto import DecryptionError, SecretBox
from app.engine.redaction import REDACTED
from app.engine.registry import Handlers
from app.engine.templating import Renderer, template_at
from app.models import Action, Trigger, Workflow, WorkflowVersion
from app.models.base import utcnow
from app.services.errors import InvalidInputError, NotFoundError, found_id
from app.services.workflows import flow_rules, tree
from app.services.workflows.concurrency import check_version
from app.services.workflows.definitions import masked_spec as masked_spec
from app.services.workflows.definitions import snapshot as snapshot
from app.services.workflows.definitions import stored_spec as stored_spec
from app.services.workflows.definitions import to_spec
from app.services.workflows.references import check_references
from app.services.workflows.specs import TriggerSpec, WorkflowSpec
from app.triggers.webhook import new_token

_renderer = Renderer()


def get_workflow(session: Session, workflow_id: int, owner_id: int) -> Workflow:
    """The user's workflow, or NotFoundError (also for another user's workflow)."""
    found_id(workflow_id, f"workflow {workflow_id}")
    workflow = session.scalar(
        select(Workflow)
        .where(Workflow.id == workflow_id, Workflow.user_id == owner_id)
        .options(selectinload(Workflow.actions), selectinload(Workflow.trigger))
    )
    if workflow is None:
        raise NotFoundError(f"workflow {workflow_id}")
    return workflow


def _pydantic_problem(exc: ValidationError, where: str, config: Any) -> InvalidInputError | None:
    for error in exc.errors():
        loc = error["loc"]
        if template_at(config, loc):
            continue  # checked after rendering, when the template has a value
        path = ".".join([where, *(str(p) for p in loc)])
        return InvalidInputError(error["msg"], field=path)
    return None


def _plain(config: dict[str, Any], secrets: SecretBox, where: str) -> dict[str, Any]:
    """The config as it will run, kept secrets decrypted: a model may check their form (a
    webhook URL), so a placeholder would refuse a valid step."""
    plain = {}
    for name, value in config.items():
        try:
            plain[name] = secrets.decrypt(value) if SecretBox.is_encrypted(value) else value
        except DecryptionError:
            message = "This secret cannot be read with this server's keys; enter it again."
            raise InvalidInputError(message, field=f"{where}.{name}") from None
    return plain


def _step_config(
    handler: BaseActionHandler,
    config: dict[str, Any],
    where: str,
    secrets: SecretBox,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """Validate one step's config (templates syntax-checked) and encrypt its secrets."""
    problems = _renderer.check(config, where)
    if problems:
        field, message = problems[0]
        raise InvalidInputError(message, field=field)
    secret_names = handler.secret_fields()
    stored = dict(config)
    for name in secret_names & stored.keys():
        value = stored[name]
        if value == REDACTED and previous and SecretBox.is_encrypted(previous.get(name)):
            stored[name] = previous[name]  # the editor showed the mask: keep the stored secret
    plain = _plain(stored, secrets, where)
    try:
        handler.validate_config(plain)
    except ValidationError as exc:
        problem = _pydantic_problem(exc, where, plain)
        if problem:
            raise problem from None
    for name in secret_names & stored.keys():
        value = stored[name]
        if isinstance(value, str) and value and not SecretBox.is_encrypted(value):
            stored[name] = secrets.encrypt(value)
    return stored


def _validate_trigger(spec: TriggerSpec, handlers: Handlers) -> None:
    if spec.type not in handlers.triggers:
        raise InvalidInputError(f"Unknown trigger type {spec.type!r}.", field="trigger.type")
    try:
        handlers.triggers.get(spec.type).validate_config(spec.config)
    except ValidationError as exc:
        problem = _pydantic_problem(exc, "trigger.config", {})
        if problem:
            raise problem from None


def _trigger_secrets(
    spec: TriggerSpec, secrets: SecretBox, previous: dict[str, Any] | None, handlers: Handlers
) -> dict[str, Any]:
    """The trigger config to store: its secret fields encrypted (as for steps); the mask sent
    back by the editor keeps the stored secret."""
    names = handlers.triggers.get(spec.type).secret_fields()
    stored = dict(spec.config)
    for name in names & stored.keys():
        value = stored[name]
        if value == REDACTED and previous and SecretBox.is_encrypted(previous.get(name)):
            stored[name] = previous[name]
        elif isinstance(value, str) and value and not SecretBox.is_encrypted(value):
            stored[name] = secrets.encrypt(value)
    return stored


def _build_actions(
    spec: WorkflowSpec, secrets: SecretBox, previous: dict[str, Action], handlers: Handlers
) -> list[Action]:
    """One row per step of the whole tree, in pre-order, once the tree keeps its rules
    (flow_rules): configs checked, secrets encrypted (a mask keeps the secret stored under the
    same key, at any depth), missing keys filled in."""
    actions_registry = handlers.actions
    steps = flow_rules.settle(spec, handlers.max_loop_items).model_dump(mode="json")["steps"]
    built = []
    for position, place in enumerate(tree.walk(steps)):
        step, where = place.step, tree.dotted(place.path)
        if step["type"] not in actions_registry:
            raise InvalidInputError(f"Unknown action type {step['type']!r}.", f"{where}.type")
        handler = actions_registry.get(step["type"])
        old = previous.get(step["key"])
        config = _step_config(
            handler, step["config"], f"{where}.config", secrets, old.config if old else None
        )
        run_if = step["run_if"]
        _check_templates(run_if, f"{where}.run_if")
        built.append(
            Action(
                position=position,
                key=step["key"],
                type=step["type"],
                name=step["name"] or handler.name,
                config=config,
                retry=step["retry"] or {},
                enabled=step["enabled"],
                continue_on_error=step["continue_on_error"],
                run_if=run_if,
                parent_key=place.parent_key,
                branch=place.branch,
                flow=_flow(step, where),
                sample_output=old.sample_output if old else None,
            )
        )
    return built


def _check_templates(value: Any, where: str) -> None:
    problems = _renderer.check(value, where) if value else []
    if problems:
        raise InvalidInputError(problems[0][1], field=problems[0][0])


def _flow(step: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    """A paths step's branches (key, name, condition) and otherwise (name), as stored."""
    if step["type"] != flow_rules.PATHS:
        return None
    branches = []
    for index, branch in enumerate(step.get("branches") or []):
        _check_templates(branch["condition"], f"{where}.branches.{index}.condition")
        branches.append({k: branch[k] for k in ("key", "name", "condition")})
    otherwise = step.get("otherwise")
    return {
        "branches": branches,
        "otherwise": {"name": otherwise["name"]} if otherwise is not None else None,
    }


def _check_run_key(template: str | None) -> None:
    if template:
        problems = _renderer.check(template, "run_key_template")
        if problems:
            raise InvalidInputError(problems[0][1], field="run_key_template")


def create_workflow(
    session: Session, owner_id: int, spec: WorkflowSpec, secrets: SecretBox, handlers: Handlers
) -> Workflow:
    """Validate and store a new (disabled) workflow."""
    _validate_trigger(spec.trigger, handlers)
    _check_run_key(spec.run_key_template)
    check_references(session, owner_id, spec, handlers.actions, handlers.triggers)
    workflow = Workflow(
        user_id=owner_id,
        name=spec.name.strip(),
        description=spec.description,
        run_key_template=spec.run_key_template or None,
        settings=spec.settings.model_dump(exclude_defaults=True),
        enabled=False,
        version=1,
    )
    workflow.trigger = Trigger(
        type=spec.trigger.type,
        config=_trigger_secrets(spec.trigger, secrets, None, handlers),
        sample_data=spec.trigger.sample_data,
        webhook_token=new_token() if spec.trigger.type == "webhook" else None,
    )
    workflow.actions = _build_actions(spec, secrets, {}, handlers)
    session.add(workflow)
    session.commit()
    return workflow


def update_workflow(
    session: Session,
    workflow: Workflow,
    spec: WorkflowSpec,
    secrets: SecretBox,
    handlers: Handlers,
    *,
    note: str | None = None,
    expected_version: int | None = None,
    saved_by: str | None = None,
) -> Workflow:
    """Replace the definition; bumps the version. Running executions keep their snapshot.
    `note` says what this save is about (History shows it beside the version); a save based on
    `expected_version` is refused (PreconditionFailedError) once another one has landed;
    `saved_by` names where it comes from ("the editor")."""
    check_version(workflow, expected_version)
    _validate_trigger(spec.trigger, handlers)
    _check_run_key(spec.run_key_template)
    check_references(session, workflow.user_id, spec, handlers.actions, handlers.triggers)
    previous = {a.key: a for a in workflow.actions}
    actions = _build_actions(spec, secrets, previous, handlers)
    # History keeps the definition this save replaces (without secrets, like an export).
    session.add(
        WorkflowVersion(
            workflow_id=workflow.id,
            version=workflow.version,
            spec=to_spec(workflow, handlers).model_dump(mode="json"),
            saved_at=workflow.updated_at,
            note=workflow.version_note,
        )
    )
    trigger = workflow.trigger
    assert trigger is not None
    type_changed = trigger.type != spec.trigger.type
    if type_changed and workflow.enabled:
        handlers.triggers.get(trigger.type).unregister(session, trigger)
    trigger.config = _trigger_secrets(
        spec.trigger, secrets, None if type_changed else trigger.config, handlers
    )
    trigger.type = spec.trigger.type
    if spec.trigger.sample_data is not None:
        trigger.sample_data = spec.trigger.sample_data
    if type_changed:
        trigger.state = {}
    if trigger.type == "webhook" and not trigger.webhook_token:
        trigger.webhook_token = new_token()  # the URL shows from the start, live once enabled
    elif trigger.type != "webhook":
        trigger.webhook_token = None  # the old URL never answers again, even as a webhook
    workflow.name = spec.name.strip()
    workflow.description = spec.description
    workflow.run_key_template = spec.run_key_template or None
    workflow.settings = spec.settings.model_dump(exclude_defaults=True)
    workflow.actions.clear()
    session.flush()  # old rows go before new ones take their (workflow, key) slots
    workflow.actions.extend(actions)
    workflow.version += 1
    workflow.version_note = (note or "").strip()[:500] or None
    workflow.saved_by = saved_by
    workflow.updated_at = utcnow()
    if workflow.enabled:
        handlers.triggers.get(trigger.type).register(session, trigger)
    session.commit()
    return workflow


def delete_workflow(
    session: Session, workflow: Workflow, handlers: Handlers, expected_version: int | None = None
) -> None:
    check_version(workflow, expected_version)
    if workflow.enabled and workflow.trigger is not None:
        handlers.triggers.get(workflow.trigger.type).unregister(session, workflow.trigger)
    session.delete(workflow)
    session.commit()


def set_enabled(
    session: Session, workflow: Workflow, enabled: bool, handlers: Handlers
) -> Workflow:
    """Turn the workflow on or off; the trigger handler registers or unregisters."""
    if workflow.enabled == enabled:
        return workflow
    trigger = workflow.trigger
    assert trigger is not None
    handler = handlers.triggers.get(trigger.type)
    if enabled:
        handler.register(session, trigger)
    else:
        handler.unregister(session, trigger)
    workflow.enabled = enabled
    session.commit()
    return workflow


def select_workflows(owner_id: int) -> Select[Workflow]:
    """The user's workflows (unordered: the caller pages them), with trigger and steps."""
    return (
        select(Workflow)
        .where(Workflow.user_id == owner_id)
        .options(selectinload(Workflow.actions), selectinload(Workflow.trigger))
    )
