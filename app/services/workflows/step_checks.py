"""What is wrong with a step of a draft: its config against the action's model, template
syntax, and references to steps that do not run before it.

The same rules as saving (services.workflows.crud): a value that is a template is checked only
for syntax here, and against the model after rendering, when it has a value.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from app.actions.conditions import ConditionSet
from app.crypto import DecryptionError, SecretBox
from app.engine.registry import ActionRegistry
from app.engine.templating import Renderer, has_template, template_at
from app.services.errors import InvalidInputError
from app.services.workflows import validation_messages

_renderer = Renderer()
# steps.<key> and steps["<key>"] / steps['<key>'] inside a template.
_REFERENCE = re.compile(
    r"\bsteps\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])"
)


def config_problems(
    type_: str,
    config: Mapping[str, Any],
    where: str,
    secrets: SecretBox,
    actions: ActionRegistry,
) -> list[InvalidInputError]:
    """Every problem of a step config, each naming its field (`<where>.config.<path>`).
    Encrypted secrets are checked decrypted (a model may validate their form, e.g. a URL)."""
    if type_ not in actions:
        return [InvalidInputError(f"Unknown action type {type_!r}.", field=f"{where}.type")]
    problems = [
        InvalidInputError(message, field=path)
        for path, message in _renderer.check(dict(config), f"{where}.config")
    ]
    plain = {k: _plain(v, secrets) for k, v in config.items()}
    try:
        actions.get(type_).validate_config(plain)
    except ValidationError as exc:
        for error in exc.errors():
            if template_at(plain, error["loc"]):
                continue  # checked after rendering, when the template has a value
            path = ".".join([f"{where}.config", *(str(p) for p in error["loc"])])
            problems.append(InvalidInputError(error["msg"], field=path))
    return problems


def run_if_problems(run_if: Any, where: str) -> list[InvalidInputError]:
    """Every problem of a step's "Run only if" (None: the step always runs), each naming its
    field (`<where>.run_if.conditions.0.left`): template syntax, then the conditions' model."""
    if run_if is None:
        return []
    problems = [
        InvalidInputError(message, field=path)
        for path, message in _renderer.check(run_if, f"{where}.run_if")
    ]
    try:
        ConditionSet.model_validate(run_if)
    except ValidationError as exc:
        for error in exc.errors():
            path = ".".join([f"{where}.run_if", *(str(p) for p in error["loc"])])
            problems.append(InvalidInputError(error["msg"], field=path))
    return problems


def _plain(value: Any, secrets: SecretBox) -> Any:
    if not SecretBox.is_encrypted(value):
        return value
    try:
        return secrets.decrypt(value)
    except DecryptionError:
        return "x"  # a key was retired: the value is reported when the step runs


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def referenced_keys(config: Any) -> list[str]:
    """Step keys that templates in `config` read (`steps.<key>`), in order, without repeats."""
    found: list[str] = []
    for text in _strings(config):
        if not has_template(text):
            continue
        for match in _REFERENCE.finditer(text):
            key = match.group(1) or match.group(2)
            if key not in found:
                found.append(key)
    return found


def reference_problems(
    steps: Sequence[Mapping[str, Any]],
    index: int,
    readable: Collection[str] | None = None,
    everything: Collection[str] | None = None,
) -> list[str]:
    """Messages for references of step `index` to steps that will not have run before it
    (`readable`: the keys it may read, when it is in a tree of loops and paths; `everything`:
    every key of that tree)."""
    earlier = set(readable) if readable is not None else {str(s["key"]) for s in steps[:index]}
    if everything is None:
        everything = {str(step["key"]) for step in steps}
    problems = []
    step = steps[index]
    for key in referenced_keys([step.get("config") or {}, step.get("run_if") or {}]):
        if key in earlier:
            continue
        if key in everything and readable is not None:
            problems.append(
                f"Uses step “{key}”, which it cannot see: it runs later, or inside a loop or "
                "branch this step is not in."
            )
        elif key in everything:
            problems.append(f"Uses step “{key}”, which runs after this one.")
        else:
            problems.append(f"Uses step “{key}”, which does not exist.")
    return problems


def step_issues(
    steps: Sequence[Mapping[str, Any]],
    index: int,
    secrets: SecretBox,
    actions: ActionRegistry,
    *,
    readable: Collection[str] | None = None,
    everything: Collection[str] | None = None,
) -> list[str]:
    """Human messages for the "has errors" badge of step `index` (`readable` and `everything`
    as for reference_problems)."""
    step = steps[index]
    where = f"steps.{index}"
    found = []
    config = step.get("config") or {}
    for problem in config_problems(str(step["type"]), config, where, secrets, actions):
        path = (problem.field or "").removeprefix(f"{where}.").removeprefix("config")
        path = path.removeprefix(".")
        if not path:  # a message about the whole config: name the field it is about
            names = list(actions.get(str(step["type"])).Config.model_fields)
            path = validation_messages.locate(problem.message, names) or ""
        text = validation_messages.plain(problem.message)
        found.append(f"{_field_label(path)}: {text}" if path else text)
    for problem in run_if_problems(step.get("run_if"), where):
        found.append(f"Run only if: {validation_messages.plain(problem.message)}")
    return found + reference_problems(steps, index, readable, everything)


def _field_label(path: str) -> str:
    """`headers.0` → "Headers, item 1"."""
    words = [
        f"item {int(p) + 1}" if p.isdigit() else validation_messages.label(p)
        for p in path.split(".")
    ]
    text = ", ".join(words)
    return text[:1].upper() + text[1:]


def rename_references(value: Any, old: str, new: str) -> Any:
    """`value` with template references to step `old` pointing at `new` instead."""
    if isinstance(value, str):
        if not has_template(value):
            return value
        value = re.sub(rf"\bsteps(\s*\.\s*){re.escape(old)}\b", rf"steps\g<1>{new}", value)
        return re.sub(
            rf"\bsteps(\s*\[\s*)(['\"]){re.escape(old)}\2", rf"steps\g<1>\g<2>{new}\g<2>", value
        )
    if isinstance(value, Mapping):
        return {k: rename_references(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [rename_references(v, old, new) for v in value]
    return value
