"""What is wrong with a step of a draft: its config against the action's model, template
syntax, and references to steps that do not run before it.

The same rules as saving (services.workflows.crud): a value that is a template is checked only
for syntax here, and against the model after rendering, when it has a value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from app.actions.conditions import ConditionSet
from app.crypto import DecryptionError, SecretBox
from app.engine.registry import ActionRegistry
from app.engine.templating import Renderer, has_template, template_at
from app.services.errors import InvalidInputError
from app.services.workflows import resume_refs, tree, validation_messages

_renderer = Renderer()
# steps.<key> and steps["<key>"] / steps['<key>'] inside a template.
# Stepline's loop variables (loop.item, loop["index"]), not a step keyed "loop"
# (steps.loop.count), and a template's own Jinja for-loop.
_LOOP = re.compile(r"(?<!\.)\bloop\s*(?:\.|\[)")
_FOR = re.compile(r"{%-?\s*for\b")
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


def reference_problems(steps: Sequence[Mapping[str, Any]], index: int) -> list[str]:
    """Messages for references of top-level step `index` to steps it cannot read."""
    return references_of(steps, str(steps[index]["key"]))


def references_of(steps: Sequence[Mapping[str, Any]], key: str) -> list[str]:
    """Messages for references of the step with `key` (anywhere in the tree `steps`) to steps
    it cannot read (tree.readable_keys: the steps before it in its list and, for each loop or
    paths step around it, that step and the steps before it), and for `loop.*` outside a loop."""
    place = tree.find(steps, key)
    if place is None:
        return []
    readable = set(tree.readable_keys(steps, key))
    everything = {str(p.step.get("key")): p for p in tree.walk(steps)}
    step = place.step
    read = [step.get("config") or {}, step.get("run_if") or {}]
    readable |= resume_refs.allowed(steps, key, *read)  # a later wait step's resume URL
    problems = []
    for name in referenced_keys(read):
        if name in readable:
            continue
        found = everything.get(name)
        if found is None:
            problems.append(f"Uses step “{name}”, which does not exist.")
            continue
        loop = _loop_holding(steps, name, key)
        if loop is not None:
            problems.append(
                f"Uses step “{name}”, which runs inside loop “{loop}”: "
                f"read the loop's output (steps.{loop}.items) instead."
            )
        elif _other_branch(steps, name, key):
            problems.append(f"Uses step “{name}”, which runs in another branch.")
        else:
            problems.append(f"Uses step “{name}”, which runs after this one.")
    # A loop's own config is rendered before its iterations: it is not inside its own loop.
    if not tree.loops_around(steps, key) and reads_loop(*read):
        problems.append("Uses loop.item and the like, which only steps inside a loop can read.")
    return problems


def _loop_holding(steps: Sequence[Mapping[str, Any]], name: str, reader: str) -> str | None:
    """The loop whose body holds step `name` but not the reader, if any (outermost)."""
    mine = set(tree.loops_around(steps, reader))
    return next((k for k in tree.loops_around(steps, name) if k not in mine), None)


def _other_branch(steps: Sequence[Mapping[str, Any]], name: str, reader: str) -> bool:
    """True when step `name` is in a branch of a paths step the reader is in another branch
    of (or after)."""
    theirs, mine = tree.find(steps, name), tree.find(steps, reader)
    if theirs is None or mine is None:
        return False
    return theirs.branch is not None and theirs.path[:-1] != mine.path[: len(theirs.path) - 1]


def reads_loop(*values: Any) -> bool:
    """True when a template reads `loop.*` as Stepline's loop variables (a template with a
    `{% for %}` of its own has Jinja's `loop`, and is left alone)."""
    for text in _strings(list(values)):
        if has_template(text) and _LOOP.search(text) and not _FOR.search(text):
            return True
    return False


def step_issues(
    steps: Sequence[Mapping[str, Any]], index: int, secrets: SecretBox, actions: ActionRegistry
) -> list[str]:
    """Human messages for the "has errors" badge of top-level step `index`."""
    return issues_of(steps, str(steps[index]["key"]), secrets, actions)


def issues_of(
    steps: Sequence[Mapping[str, Any]], key: str, secrets: SecretBox, actions: ActionRegistry
) -> list[str]:
    """Human messages for the "has errors" badge of the step with `key`, anywhere in the tree."""
    place = tree.find(steps, key)
    if place is None:
        return []
    step = place.step
    where = tree.dotted(place.path)
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
    for index, branch in enumerate(step.get("branches") or []):
        condition = branch.get("condition") if isinstance(branch, Mapping) else None
        label = f"Branch {branch.get('name') or index + 1}" if isinstance(branch, Mapping) else ""
        for problem in run_if_problems(condition, f"{where}.branches.{index}"):
            found.append(f"{label}: {validation_messages.plain(problem.message)}")
    return found + references_of(steps, key)


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
