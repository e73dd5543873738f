"""Editor use cases on a workflow's draft: configure and rename steps (anywhere in the tree);
choose and configure the trigger; rename the workflow. Adding, moving, duplicating and deleting
steps, and a paths step's branches, are services.workflows.draft_structure.

Each one loads the draft, changes it, stores it and commits; the saved definition (what
executions run) changes only on Save (services.workflows.versions.save_draft). A refused change
raises InvalidInputError naming the field (`steps.2.config.url`) and leaves the draft as it was.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.crypto import DecryptionError, SecretBox
from app.engine.redaction import REDACTED
from app.engine.registry import ActionRegistry, TriggerRegistry
from app.engine.retry import RetrySettings
from app.engine.templating import Renderer
from app.models import Workflow
from app.services.errors import InvalidInputError
from app.services.workflows import draft_tree, drafts, run_settings
from app.services.workflows.references import check_references
from app.services.workflows.specs import KEY_PATTERN, WorkflowSpec
from app.services.workflows.step_checks import config_problems, run_if_problems

_renderer = Renderer()


class ProblemsFoundError(InvalidInputError):
    """Several fields were refused at once; the first one is the message and field."""

    def __init__(self, problems: list[InvalidInputError]) -> None:
        super().__init__(problems[0].message, problems[0].field)
        self.problems = problems


@dataclass(frozen=True)
class StepChanges:
    """What the step panel submits. Secret config fields may hold the mask (keep the value)."""

    name: str
    key: str
    config: dict[str, Any]
    retry: dict[str, Any] | None
    continue_on_error: bool
    run_if: dict[str, Any] | None = None  # "Run only if" conditions (None: always runs)


def _changed(session: Session, workflow: Workflow) -> drafts.Draft:
    return drafts.load(session, workflow, for_update=True)


def _connection_problems(
    session: Session,
    workflow: Workflow,
    spec: dict[str, Any],
    actions: ActionRegistry | None = None,
    triggers: TriggerRegistry | None = None,
) -> list[InvalidInputError]:
    """A step or trigger may only name its owner's connections and credentials (of the kinds
    its fields take); Save checks it again."""
    try:
        checked = WorkflowSpec.model_validate(spec)
    except ValidationError:
        return []  # Save reports what makes the definition invalid
    try:
        check_references(session, workflow.user_id, checked, actions, triggers)
    except InvalidInputError as exc:
        return [exc]
    return []


def secret_names(model: type[BaseModel]) -> frozenset[str]:
    """Config fields marked secret (`secret_field`): stored encrypted, shown masked."""
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("secret")
    )


def _merge_secrets(
    model: type[BaseModel],
    submitted: dict[str, Any],
    previous: Mapping[str, Any],
    secrets: SecretBox,
) -> dict[str, Any]:
    """The mask keeps the stored secret, an empty value removes it, a new one is encrypted."""
    config = dict(submitted)
    for name in secret_names(model):
        value = config.get(name)
        if value == REDACTED and previous.get(name):
            config[name] = previous[name]
        elif value in (None, "", REDACTED):
            config.pop(name, None)
        elif isinstance(value, str) and not SecretBox.is_encrypted(value):
            config[name] = secrets.encrypt(value)
    return config


def _decrypted(value: Any, secrets: SecretBox) -> Any:
    if not SecretBox.is_encrypted(value):
        return value
    try:
        return secrets.decrypt(value)
    except DecryptionError:
        return value


def _retry_problems(
    retry: dict[str, Any] | None, where: str
) -> tuple[Any, list[InvalidInputError]]:
    if retry is None:
        return None, []
    try:
        return RetrySettings.model_validate(retry).model_dump(mode="json"), []
    except ValidationError as exc:
        return None, [
            InvalidInputError(e["msg"], ".".join([f"{where}.retry", *map(str, e["loc"])]))
            for e in exc.errors()
        ]


def update_step(
    session: Session,
    workflow: Workflow,
    key: str,
    changes: StepChanges,
    secrets: SecretBox,
    actions: ActionRegistry,
) -> tuple[drafts.Draft, str]:
    """Apply the step panel: name, key (references to it follow), config, retry, errors.
    Every refused field is reported at once; return the step's (possibly new) key."""
    draft = _changed(session, workflow)
    found = draft.locate(key)
    step = found.step
    where = found.where
    problems: list[InvalidInputError] = []
    new_key = changes.key.strip()
    if not re.fullmatch(KEY_PATTERN, new_key):
        message = "Use a lowercase letter, then letters, digits or _ (at most 64)."
        problems.append(InvalidInputError(message, f"{where}.key"))
    elif new_key != key and new_key in draft.keys():
        problems.append(
            InvalidInputError(f"Another step uses the key {new_key!r}.", f"{where}.key")
        )
    if len(changes.name) > 200:
        problems.append(InvalidInputError("Use at most 200 characters.", f"{where}.name"))
    handler = actions.get(step["type"])
    config = _merge_secrets(handler.Config, changes.config, step.get("config") or {}, secrets)
    problems += config_problems(step["type"], config, where, secrets, actions)
    problems += run_if_problems(changes.run_if, where)
    retry, retry_problems = _retry_problems(changes.retry, where)
    problems += retry_problems
    spec = copy.deepcopy(draft.spec)
    draft_tree.find(spec["steps"], key).step["config"] = config
    problems += _connection_problems(session, workflow, spec, actions)
    if problems:
        raise ProblemsFoundError(problems)
    step.update(
        name=changes.name.strip() or handler.name,
        config=config,
        retry=retry,
        continue_on_error=changes.continue_on_error,
        run_if=changes.run_if,
    )
    draft.hold(key, {})  # what the panel held is applied now
    if new_key != key:
        draft_tree.rename_everywhere(draft.steps, key, new_key)
        step["key"] = new_key
        if key in draft.samples:
            draft.samples[new_key] = draft.samples.pop(key)
    return drafts.store(session, draft), new_key


def keep_step_input(
    session: Session,
    workflow: Workflow,
    key: str,
    changes: StepChanges,
    secrets: SecretBox,
    actions: ActionRegistry,
    *,
    keep_config: bool = False,
    held: dict[str, str] | None = None,
) -> tuple[drafts.Draft, bool]:
    """Store what the step panel holds, as typed, even where it is not valid yet: the draft
    keeps every edit (a refused Apply, another step opened, a reload lose nothing). The key
    changes only on Apply (its references follow then): a different key typed is kept in
    `held` beside the definition, like "Edit as JSON" text that is not JSON yet (see
    drafts.Draft.inputs); a retry policy that cannot be read keeps the stored one, and so does
    the config with `keep_config`. Return the draft and whether anything changed."""
    draft = _changed(session, workflow)
    step = draft.step(key)
    before = copy.deepcopy(step)
    held_before = draft.held(key)
    if held is not None:
        draft.hold(key, held)
    config = dict(step.get("config") or {}) if keep_config else dict(changes.config)
    if step["type"] in actions and not keep_config:
        model = actions.get(step["type"]).Config
        config = _merge_secrets(model, config, step.get("config") or {}, secrets)
    retry, retry_problems = _retry_problems(changes.retry, "step")
    step.update(
        name=(changes.name.strip() or str(step.get("name") or key))[:200],
        config=config,
        continue_on_error=changes.continue_on_error,
        run_if=changes.run_if,
    )
    if not retry_problems:
        step["retry"] = retry
    if step == before and draft.held(key) == held_before:
        session.rollback()  # nothing to write: release the row lock
        return draft, False
    return drafts.store(session, draft), True


def _trigger_model(triggers: TriggerRegistry, type_: str) -> type[BaseModel]:
    if type_ not in triggers:
        raise InvalidInputError(f"Unknown trigger type {type_!r}.", field="trigger.type")
    return triggers.get(type_).Config


def keep_trigger_input(
    session: Session,
    workflow: Workflow,
    type_: str,
    config: dict[str, Any],
    sample_data: dict[str, Any] | None,
    secrets: SecretBox,
    triggers: TriggerRegistry,
    *,
    keep_sample: bool = False,
    held: dict[str, str] | None = None,
) -> tuple[drafts.Draft, bool]:
    """Store the trigger panel as typed, like keep_step_input; `keep_sample` keeps the stored
    sample data (what was typed there is not a JSON object yet); `held`, what the panel holds
    beyond the definition ("Edit as JSON" text that is not JSON yet)."""
    model = _trigger_model(triggers, type_)
    draft = _changed(session, workflow)
    before = copy.deepcopy(draft.trigger)
    held_before = draft.held()
    if held is not None:
        draft.hold(None, held)
    previous = draft.trigger.get("config") or {} if draft.trigger.get("type") == type_ else {}
    trigger = {
        "type": type_,
        "config": _merge_secrets(model, config, previous, secrets),
        "sample_data": before.get("sample_data") if keep_sample else sample_data,
    }
    if trigger == before and draft.held() == held_before:
        session.rollback()
        return draft, False
    draft.spec["trigger"] = trigger
    return drafts.store(session, draft), True


def update_trigger(
    session: Session,
    workflow: Workflow,
    type_: str,
    config: dict[str, Any],
    sample_data: dict[str, Any] | None,
    secrets: SecretBox,
    triggers: TriggerRegistry,
) -> drafts.Draft:
    """Choose the trigger kind and its config, and set the sample data tests and the picker
    use. Every refused field is reported at once."""
    model = _trigger_model(triggers, type_)
    draft = _changed(session, workflow)
    previous = draft.trigger.get("config") or {} if draft.trigger.get("type") == type_ else {}
    config = _merge_secrets(model, config, previous, secrets)
    try:
        model.model_validate({k: _decrypted(v, secrets) for k, v in config.items()})
    except ValidationError as exc:
        raise ProblemsFoundError(
            [
                InvalidInputError(e["msg"], ".".join(["trigger.config", *map(str, e["loc"])]))
                for e in exc.errors()
            ]
        ) from None
    trigger = {"type": type_, "config": config, "sample_data": sample_data}
    spec = {**draft.spec, "trigger": trigger}
    problems = _connection_problems(session, workflow, spec, triggers=triggers)
    if problems:
        raise ProblemsFoundError(problems)
    draft.spec["trigger"] = trigger
    draft.hold(None, {})  # what the panel held is applied now
    return drafts.store(session, draft)


def update_settings(
    session: Session,
    workflow: Workflow,
    name: str,
    description: str,
    run_key_template: str,
    run: run_settings.RunSettings | None = None,
) -> drafts.Draft:
    """Rename the workflow and set its description and run key template; with `run`, its
    time zone and time limits too (the other settings are kept)."""
    problems: list[InvalidInputError] = []
    values, run_problems = run_settings.parse(run) if run is not None else ({}, [])
    name = name.strip()
    if not 1 <= len(name) <= 200:
        message = "Give the workflow a name (at most 200 characters)."
        problems.append(InvalidInputError(message, "name"))
    if len(description) > 5000:
        problems.append(InvalidInputError("Use at most 5000 characters.", "description"))
    run_key = run_key_template.strip()
    if len(run_key) > 500:
        problems.append(InvalidInputError("Use at most 500 characters.", "run_key_template"))
    elif run_key:
        problems += [
            InvalidInputError(message, "run_key_template")
            for _, message in _renderer.check(run_key, "run_key_template")
        ]
    problems += run_problems
    if problems:
        raise ProblemsFoundError(problems)
    draft = _changed(session, workflow)
    draft.spec.update(name=name, description=description, run_key_template=run_key or None)
    if run is not None:
        draft.spec["settings"] = run_settings.merged(draft.spec.get("settings"), values)
    return drafts.store(session, draft)
