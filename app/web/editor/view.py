"""What the editor's cards show: kind, icon, a one-line summary of the config, badges."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import url_for

from app.crypto import SecretBox
from app.extensions import container
from app.models import Workflow
from app.models.base import utcnow
from app.services import drafts
from app.services.step_checks import step_issues

SUMMARY_CHARS = 90
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


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def summary(type_: str, config: dict[str, Any], secret: frozenset[str] = frozenset()) -> str:
    """One line that says what a step does with its config."""
    if not config:
        return "Not configured yet"
    if type_ == "transform" and isinstance(config.get("fields"), dict):
        names = ", ".join(config["fields"]) or "nothing"
        return _text(f"Sets {names}")
    if type_ == "filter" and isinstance(config.get("conditions"), list):
        parts = [
            f"{c.get('left', '')} {str(c.get('operator', 'equals')).replace('_', ' ')} "
            f"{c.get('right') if c.get('right') is not None else ''}".strip()
            for c in config["conditions"]
            if isinstance(c, dict)
        ]
        joiner = " and " if config.get("match", "all") == "all" else " or "
        return _text("Continue if " + joiner.join(parts))
    if type_ == "delay" and "amount" in config:
        return _text(f"Wait {config['amount']} {config.get('unit', 'seconds')}")
    if type_ == "log" and "message" in config:
        return _text(f"Log “{config['message']}”")
    if type_ == "http_request" and "url" in config:
        return _text(f"{config.get('method', 'GET')} {config['url']}")
    shown = [
        f"{k}: {_text(v)}" for k, v in config.items() if k not in secret and v not in ("", None)
    ]
    return _text(" · ".join(shown)) if shown else "Configured"


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


def _trigger_card(trigger: dict[str, Any]) -> TriggerCard:
    type_ = str(trigger.get("type") or "manual")
    known = type_ in container().handlers.triggers
    handler = container().handlers.triggers.get(type_) if known else None
    config = trigger.get("config") or {}
    sample = trigger.get("sample_data")
    text = summary(type_, config) if config else (handler.description if handler else "")
    return TriggerCard(
        type=type_,
        kind=handler.name if handler else type_,
        description=handler.description if handler else "This trigger kind is not installed.",
        icon=icon_for(type_),
        summary=text,
        sample_fields=len(sample) if isinstance(sample, dict) else 0,
    )


def step_card(draft: drafts.Draft, index: int, secrets: SecretBox) -> StepCard:
    step = draft.steps[index]
    type_ = str(step["type"])
    known = type_ in container().handlers.actions
    handler = container().handlers.actions.get(type_) if known else None
    config = step.get("config") or {}
    return StepCard(
        index=index,
        key=str(step["key"]),
        type=type_,
        name=str(step.get("name") or step["key"]),
        kind=handler.name if handler else type_,
        icon=icon_for(type_),
        summary=summary(type_, config, handler.secret_fields() if handler else frozenset()),
        enabled=bool(step.get("enabled", True)),
        sends=bool(handler and handler.sends),
        known=known,
        tested=step["key"] in draft.samples,
        issues=step_issues(draft.steps, index, secrets, container().handlers.actions),
    )


def build(
    workflow: Workflow, draft: drafts.Draft, secrets: SecretBox, selected: str | None = None
) -> Editor:
    """The editor's view of a workflow's draft."""
    return Editor(
        workflow=workflow,
        draft=draft,
        dirty=drafts.is_dirty(draft, workflow),
        saved_elsewhere=drafts.saved_elsewhere(draft, workflow),
        trigger=_trigger_card(draft.trigger),
        steps=[step_card(draft, i, secrets) for i in range(len(draft.steps))],
        selected=selected,
    )


@dataclass(frozen=True)
class Webhook:
    """What the section shows for a workflow's saved webhook trigger."""

    saved: bool  # the saved trigger is a webhook (a draft-only one has no URL yet)
    url: str | None
    test_url: str | None
    listening_until: datetime | None
    captured: str | None  # the saved trigger's sample data (a captured request), as JSON


def webhook_of(workflow: Workflow) -> Webhook:
    """The webhook section of the trigger panel, from the saved trigger."""
    trigger = workflow.trigger
    if trigger is None or trigger.type != "webhook":
        return Webhook(False, None, None, None, None)
    token = trigger.webhook_token
    until_text = (trigger.state or {}).get("listen_until")
    until = datetime.fromisoformat(until_text) if isinstance(until_text, str) else None
    return Webhook(
        saved=True,
        url=url_for("hooks.hook_receive", token=token, _external=True) if token else None,
        test_url=url_for("hooks.hook_test", token=token, _external=True) if token else None,
        listening_until=until if until and until > utcnow() else None,
        captured=json.dumps(trigger.sample_data, indent=2, ensure_ascii=False)
        if trigger.sample_data
        else None,
    )
