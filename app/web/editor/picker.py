"""The data picker: the fields a step can read, as templates ready to insert.

Built from services.workflows.trials.Available (the trigger's sample data, the outputs of the
steps it can see, the loops around it); each entry carries the exact `{{ trigger.<path> }}`,
`{{ steps.<key>.<path> }}` or `{{ loop.item.<path> }}` text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.services.workflows.resume_refs import NOTE
from app.services.workflows.trials import Available, LoopSample
from app.web.editor.resume_preview import resume_url_shape

MAX_DEPTH = 4
MAX_ENTRIES = 60
PREVIEW_CHARS = 40
# Words a template cannot take after a dot (Jinja's literals and operators).
RESERVED = frozenset(
    {
        "and",
        "or",
        "not",
        "in",
        "is",
        "if",
        "else",
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
        "for",
        "recursive",
        "with",
        "without",
        "context",
        "import",
        "as",
        "block",
    }
)


@dataclass(frozen=True)
class Entry:
    expression: str  # what is inserted: {{ trigger.customer.email }}
    path: str  # what is shown: customer.email
    preview: str
    depth: int


@dataclass
class Group:
    title: str
    note: str
    entries: list[Entry] = field(default_factory=list)
    truncated: bool = False


def _segment(name: str) -> str:
    if name.isidentifier() and name not in RESERVED:
        return f".{name}"
    return f"[{json.dumps(name, ensure_ascii=False)}]"


def _preview(value: Any) -> str:
    if isinstance(value, dict):
        return f"{{…}} {len(value)} field{'s' if len(value) != 1 else ''}"
    if isinstance(value, list):
        return f"[…] {len(value)} item{'s' if len(value) != 1 else ''}"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _walk(group: Group, root: str, value: Any, path: str, shown: str, depth: int) -> None:
    items: list[tuple[str, str, Any]] = []
    if isinstance(value, dict):
        items = [(_segment(str(k)), str(k), v) for k, v in value.items()]
    elif isinstance(value, list) and value:
        items = [("[0]", "0", value[0])]  # the first item stands for every item
    for segment, label, child in items:
        if len(group.entries) >= MAX_ENTRIES:
            group.truncated = True
            return
        child_path = path + segment
        child_shown = f"{shown}.{label}" if shown else label
        group.entries.append(
            Entry(f"{{{{ {root}{child_path} }}}}", child_shown, _preview(child), depth)
        )
        if depth + 1 < MAX_DEPTH:
            _walk(group, root, child, child_path, child_shown, depth + 1)


LOOP_VARIABLES = (
    ("index", "the item's number, from 0"),
    ("first", "true for the first item"),
    ("last", "true for the last item"),
    ("count", "how many items"),
)


def _loop_group(loop: LoopSample, parents: int) -> Group:
    """`loop.item` (with the sample item's fields) and `loop.index`/`first`/`last`/`count`."""
    note = f"the first of {loop.count} items" if loop.count else (loop.note or "no sample item")
    group = Group(f"Loop: {loop.name}", f"each item of {loop.items or 'its list'}: {note}")
    root = "loop" + ".parent" * parents
    group.entries.append(
        Entry(f"{{{{ {root}.item }}}}", "item", _preview(loop.item) if loop.count else "", 0)
    )
    if loop.item is not None:
        _walk(group, f"{root}.item", loop.item, "", "item", 1)
    for name, words in LOOP_VARIABLES:
        group.entries.append(Entry(f"{{{{ {root}.{name} }}}}", name, words, 0))
    return group


def groups(available: Available) -> list[Group]:
    """One group per loop around the step (innermost first), one for the trigger, one per
    step it can see, in run order, then the resume URLs of later steps that wait (a call, a
    decision)."""
    looping = [_loop_group(loop, depth) for depth, loop in enumerate(available.loops)]
    note = "sample data" if available.trigger_is_sample else "from the latest run"
    trigger = Group("Trigger", note if available.trigger else "no sample data yet")
    _walk(trigger, "trigger", available.trigger, "", "", 0)
    result = [*looping, trigger]
    for number, step in enumerate(available.steps, start=1):
        if not step.enabled:
            note = "disabled: skipped when the workflow runs"
        elif step.output is None:
            note = "not tested yet: test it to see its fields"
        else:
            note = "last output"
        group = Group(f"{number}. {step.name}", note)
        if step.enabled and step.output is not None:
            group.entries.append(Entry(f"{{{{ steps.{step.key} }}}}", step.key, "whole output", 0))
            _walk(group, f"steps.{step.key}", step.output, "", "", 0)
        result.append(group)
    for ahead in available.resume_urls:  # later steps that wait: their URL is readable now
        group = Group(f"{ahead.name} (later)", NOTE)
        expression = f"{{{{ steps.{ahead.key}.resume_url }}}}"
        group.entries.append(Entry(expression, "resume_url", resume_url_shape(ahead.key), 0))
        result.append(group)
    return result
