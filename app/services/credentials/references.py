"""Which credentials workflows name: the save check (the owner's only, of the kinds the field
accepts) and the workflows that use a credential (deleting one in use asks first).

A step names a credential in a field declared with `credential_field` (its kinds known), or in
any `credential_id` key of its config, however deeply nested (the owner's, any kind).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.credentials.fields import credential_fields
from app.engine.registry import ActionRegistry, TriggerRegistry
from app.models import Credential, Workflow
from app.services.errors import InvalidInputError
from app.services.workflows import tree
from app.services.workflows.specs import WorkflowSpec

REFERENCE_KEY = "credential_id"
Found = tuple[str, Any, tuple[str, ...]]  # (field path, value, accepted kinds; () for any)


def _declared(model: type[BaseModel] | None) -> dict[str, tuple[str, ...]]:
    return credential_fields(model) if model is not None else {}


def references(config: Any, path: str, model: type[BaseModel] | None) -> Iterator[Found]:
    """Every credential `config` names: its declared credential fields, and any other
    `credential_id` key at any depth."""
    declared = _declared(model)
    if isinstance(config, Mapping):
        for name, kinds in declared.items():
            if name in config:
                yield f"{path}.{name}", config[name], kinds
    yield from _nested(config, path, set(declared))


def _nested(value: Any, path: str, skip: set[str]) -> Iterator[Found]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key in skip:
                continue
            where = f"{path}.{key}"
            if key == REFERENCE_KEY:
                yield where, item, ()
            else:
                yield from _nested(item, where, set())
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nested(item, f"{path}.{index}", set())


def as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _model(registry: ActionRegistry | TriggerRegistry | None, type_: str) -> Any:
    return registry.get(type_).Config if registry is not None and type_ in registry else None


def spec_references(
    spec: WorkflowSpec,
    actions: ActionRegistry | None = None,
    triggers: TriggerRegistry | None = None,
) -> list[Found]:
    found = list(
        references(spec.trigger.config, "trigger.config", _model(triggers, spec.trigger.type))
    )
    steps = spec.model_dump(mode="json", include={"steps"})["steps"]
    for place in tree.walk(steps):  # at any depth of loops and paths
        where = f"{tree.dotted(place.path)}.config"
        found += references(
            place.step.get("config") or {}, where, _model(actions, place.step["type"])
        )
    return found


def check_credentials(
    session: Session,
    owner_id: int,
    spec: WorkflowSpec,
    actions: ActionRegistry | None = None,
    triggers: TriggerRegistry | None = None,
) -> None:
    """Every credential the workflow names is the owner's and of a kind its field accepts;
    otherwise InvalidInputError naming the field. A template is refused: the credential a
    step uses is fixed when it is saved (and checked again when it runs)."""
    found = spec_references(spec, actions, triggers)
    if not found:
        return
    owned = dict(
        session.execute(
            select(Credential.id, Credential.kind).where(Credential.user_id == owner_id)
        ).all()
    )
    for field, value, kinds in found:
        if value is None or value == "":
            continue  # a missing credential is the config model's to report
        credential_id = as_id(value)
        if credential_id is None:
            raise InvalidInputError("Choose one of your credentials.", field=field)
        kind = owned.get(credential_id)
        if kind is None:
            raise InvalidInputError(
                f"Credential {credential_id} does not exist or is not yours.", field=field
            )
        if kinds and kind not in kinds:
            raise InvalidInputError(
                f"Credential {credential_id} is a {kind} credential; this field takes "
                f"{' or '.join(kinds)}.",
                field=field,
            )


def using(session: Session, credential: Credential) -> list[Workflow]:
    """The owner's workflows whose trigger, steps or failure settings name `credential`."""
    workflows = session.scalars(
        select(Workflow)
        .where(Workflow.user_id == credential.user_id)
        .options(selectinload(Workflow.actions), selectinload(Workflow.trigger))
        .order_by(Workflow.id)
    ).all()
    users = []
    for workflow in workflows:
        configs = [workflow.trigger.config] if workflow.trigger else []
        configs += [action.config for action in workflow.actions]
        configs.append(workflow.settings or {})  # settings.on_failure's senders
        if any(
            as_id(value) == credential.id
            for config in configs
            for _f, value, _k in references(config, "config", None)
        ):
            users.append(workflow)
    return users
