"""What the editor's cards show: kind, icon and colour, a one-line summary of the config (in
words, references as pills), badges, what passes to the next step; and what the header shows:
whether the workflow can be switched on, and the webhook's URLs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.crypto import SecretBox
from app.extensions import container
from app.models import Workflow
from app.models.base import utcnow
from app.proxy import external_url
from app.services.workflows import drafts
from app.services.workflows.step_checks import step_issues
from app.web.editor.summaries import (
    Piece,
    only_if,
    output_preview,
    output_words,
    pieces,
    summary,
    trigger_summary,
)

ICONS = {
    "manual": "play",
    "webhook": "link",
    "schedule": "clock",
    "transform": "shuffle",
    "filter": "filter",
    "delay": "hourglass",
    "log": "list",
    "http_request": "globe",
    "slack_message": "message",
}
ICON_PREFIXES = {
    "google.gmail": "mail",
    "google.sheets": "grid",
    "google.drive": "folder",
    "google.calendar": "calendar",
    "gmail": "mail",
    "sheets": "grid",
}


def icon_for(type_: str) -> str:
    """The sprite symbol for an action or trigger kind (a box for kinds we do not know)."""
    if type_ in ICONS:
        return ICONS[type_]
    for prefix, icon in ICON_PREFIXES.items():
        if type_.startswith(prefix):
            return icon
    return "box"


@dataclass(frozen=True)
class StepCard:
    index: int
    key: str
    type: str
    name: str
    kind: str
    icon: str
    summary: str
    enabled: bool
    sends: bool
    known: bool
    tested: bool
    issues: list[str] = field(default_factory=list)
    pieces: list[Piece] = field(default_factory=list)  # the summary, references as pills
    passes: str | None = None  # what its output amounts to ("3 fields"), once known
    preview: str | None = None  # its output's first fields, once tested
    only_if: str = ""  # its "Run only if" in words, when it has one

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass(frozen=True)
class TriggerCard:
    type: str
    kind: str
    description: str
    icon: str
    summary: str
    sample_fields: int
    passes: str | None = None  # what the sample data amounts to ("3 fields")


@dataclass(frozen=True)
class Editor:
    """Everything the editor page and its fragments render."""

    workflow: Workflow
    draft: drafts.Draft
    dirty: bool
    saved_elsewhere: bool
    trigger: TriggerCard
    steps: list[StepCard]
    selected: str | None = None  # a step key, "trigger" or "settings"

    @property
    def step_count(self) -> int:
        return len(self.steps)

    @property
    def activation_block(self) -> str:
        """Why the workflow cannot be switched on now ("Step 3 has errors"), or ""."""
        if self.workflow.enabled:
            return ""
        faulty = [card.number for card in self.steps if card.issues]
        if len(faulty) == 1:
            return f"Step {faulty[0]} has errors"
        if faulty:
            return "Steps " + ", ".join(str(n) for n in faulty) + " have errors"
        return ""


def _trigger_card(trigger: dict[str, Any]) -> TriggerCard:
    type_ = str(trigger.get("type") or "manual")
    known = type_ in container().handlers.triggers
    handler = container().handlers.triggers.get(type_) if known else None
    config = trigger.get("config") or {}
    sample = trigger.get("sample_data")
    text = trigger_summary(type_, config, handler.description if handler else "")
    return TriggerCard(
        type=type_,
        kind=handler.name if handler else type_,
        description=handler.description if handler else "This trigger kind is not installed.",
        icon=icon_for(type_),
        summary=text,
        sample_fields=len(sample) if isinstance(sample, dict) else 0,
        passes=output_words(sample),
    )


def _last_output(workflow: Workflow, draft: drafts.Draft, key: str) -> Any:
    """The step's output from its last test (in the draft), else the saved sample."""
    if key in draft.samples:
        return draft.samples[key]
    for action in workflow.actions:
        if action.key == key:
            return action.sample_output
    return None


def step_card(
    draft: drafts.Draft,
    index: int,
    secrets: SecretBox,
    workflow: Workflow | None = None,
) -> StepCard:
    step = draft.steps[index]
    type_ = str(step["type"])
    known = type_ in container().handlers.actions
    handler = container().handlers.actions.get(type_) if known else None
    config = step.get("config") or {}
    text = summary(type_, config, handler.secret_fields() if handler else frozenset())
    names = {str(s["key"]): str(s.get("name") or s["key"]) for s in draft.steps}
    key = str(step["key"])
    output = _last_output(workflow, draft, key) if workflow else draft.samples.get(key)
    return StepCard(
        index=index,
        key=str(step["key"]),
        type=type_,
        name=str(step.get("name") or step["key"]),
        kind=handler.name if handler else type_,
        icon=icon_for(type_),
        summary=text,
        enabled=bool(step.get("enabled", True)),
        sends=bool(handler and handler.sends),
        known=known,
        tested=step["key"] in draft.samples,
        issues=step_issues(draft.steps, index, secrets, container().handlers.actions),
        pieces=pieces(text, names),
        passes=output_words(output),
        preview=output_preview(output),
        only_if=only_if(step.get("run_if")),
    )


def build(
    workflow: Workflow, draft: drafts.Draft, secrets: SecretBox, selected: str | None = None
) -> Editor:
    """The editor's view of a workflow's draft."""
    return Editor(
        workflow=workflow,
        draft=draft,
        dirty=drafts.has_unsaved(draft, workflow),
        saved_elsewhere=drafts.saved_elsewhere(draft, workflow),
        trigger=_trigger_card(draft.trigger),
        steps=[step_card(draft, i, secrets, workflow) for i in range(len(draft.steps))],
        selected=selected,
    )


@dataclass(frozen=True)
class Webhook:
    """What the header and the trigger panel show of a workflow's webhook."""

    saved: bool  # the saved trigger is a webhook (else the URL answers only after Save)
    url: str | None
    test_url: str | None
    listening_until: datetime | None
    captured: str | None  # the saved trigger's sample data (a captured request), as JSON
    live: bool = False  # saved as a webhook and switched on: requests start runs now

    @property
    def shown(self) -> bool:
        return self.url is not None


def webhook_of(workflow: Workflow, draft_type: str | None = None) -> Webhook:
    """The webhook's URLs, from the saved trigger's token; shown when the saved trigger or the
    one being edited (`draft_type`) is a webhook, for its token exists from the start."""
    trigger = workflow.trigger
    saved = trigger is not None and trigger.type == "webhook"
    if trigger is None or not (saved or draft_type == "webhook"):
        return Webhook(False, None, None, None, None)
    token = trigger.webhook_token
    until_text = (trigger.state or {}).get("listen_until") if saved else None
    until = datetime.fromisoformat(until_text) if isinstance(until_text, str) else None
    return Webhook(
        saved=saved,
        url=external_url("hooks.hook_receive", token=token) if token else None,
        test_url=external_url("hooks.hook_test", token=token) if token else None,
        listening_until=until if until and until > utcnow() else None,
        captured=json.dumps(trigger.sample_data, indent=2, ensure_ascii=False)
        if saved and trigger.sample_data
        else None,
        live=saved and workflow.enabled and bool(token),
    )
