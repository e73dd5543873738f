"""`{{ steps.<key>.resume_url }}` read before the step it names: a step that waits for a call or
a decision (`wait_for_call`, `approval`) has its resume URL before it runs, so that an earlier
step can send it (by email, by Slack). The engine provides it (app.engine.waits.offer_urls) to
every step of the same loop iteration; the editor accepts such a reference and offers it in
the data picker of those steps.

Only `.resume_url` may be read ahead: any other field of a step that runs later is still a
reference to a step that has not run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.engine.program import Program, readable_keys
from app.engine.templating import has_template

_NAME = r"(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])"
_REFERENCE = re.compile(rf"\bsteps\s*{_NAME}")
_RESUME_URL = re.compile(
    rf"\bsteps\s*{_NAME}\s*(?:\.\s*resume_url\b|\[\s*['\"]resume_url['\"]\s*\])"
)
NOTE = "the URL of this run's wait step"


@dataclass(frozen=True)
class Ahead:
    """A later step whose resume URL a step may read."""

    key: str
    name: str
    type: str


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if has_template(value) else []
    if isinstance(value, Mapping):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _count(pattern: re.Pattern[str], texts: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for text in texts:
        for match in pattern.finditer(text):
            key = match.group(1) or match.group(2)
            found[key] = found.get(key, 0) + 1
    return found


def url_only_keys(*values: Any) -> set[str]:
    """The step keys that the templates in `values` read only as `steps.<key>.resume_url`."""
    texts = [text for value in values for text in _strings(value)]
    every, urls = _count(_REFERENCE, texts), _count(_RESUME_URL, texts)
    return {key for key, count in urls.items() if every.get(key) == count}


def ahead(steps: Sequence[Mapping[str, Any]], key: str) -> list[Ahead]:
    """The waiting steps whose resume URL the step `key` may read although they do not run
    before it: in the same loop iteration (the loops around each one are the outermost loops
    around `key`), not `key` itself, not already readable, in run order."""
    program = Program(steps)
    position = program.by_key.get(key)
    if position is None:
        return []
    readable = set(readable_keys(steps, key))
    found = []
    for other, _loops in program.resumable_within(program.loop_positions(position)):
        node = program.nodes[other]
        if node.key == key or node.key in readable:
            continue
        name = str(node.action.get("name") or node.key)
        found.append(Ahead(node.key, name, str(node.action.get("type"))))
    return found


def allowed(steps: Sequence[Mapping[str, Any]], reader: str, *values: Any) -> set[str]:
    """The keys that the reader's templates (`values`) read ahead, legitimately: only their
    resume URL, of a step `ahead` names."""
    only = url_only_keys(*values)
    if not only:
        return set()
    return only & {found.key for found in ahead(steps, reader)}
