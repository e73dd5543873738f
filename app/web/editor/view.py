"""The editor's view of a workflow: the trigger's card and the step cards (editor/cards.py), and
what the header shows: whether the workflow can be switched on, and the webhook's URLs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from app.crypto import SecretBox
from app.engine.program import walk
from app.extensions import container
from app.models import Workflow
from app.models.base import utcnow
from app.proxy import external_url
from app.services.workflows import draft_tree, drafts
from app.web.editor.cards import StepCard, every_card, icon_for, step_cards
from app.web.editor.summaries import output_words, trigger_summary


@dataclass(frozen=True)
class Place:
    """A list a step can be moved to: its form value ("" top level, "<loop>", "<paths>/<branch>"),
    its label, and the keys of the containers it is in (the step and what holds it)."""

    value: str
    label: str
    around: tuple[str, ...]


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

    @cached_property
    def places(self) -> list[Place]:
        """Every list of the tree a step can be moved to: the top level, loops' bodies,
        branches."""
        found = [Place("", "the top level", ())]
        for place in walk(self.draft.steps):
            step = place.step
            key = str(step["key"])
            around = (*draft_tree.find(self.draft.steps, key).containers, key)
            name = step.get("name") or key
            for branch, _ in draft_tree.lists(dict(step)):
                value = key if branch is None else f"{key}/{branch}"
                label = (
                    f"the loop “{name}”"
                    if branch is None
                    else f"{draft_tree.branch_name(step, branch)} of “{name}”"
                )
                found.append(Place(value, label, around))
        return found

    def places_for(self, card: StepCard) -> list[Place]:
        """Where the card's step can be moved to: not inside itself."""
        return [place for place in self.places if card.key not in place.around]

    def after(self, key: str) -> StepCard | None:
        """The card that runs after the step `key` (in the tree's order), or None."""
        cards = list(every_card(self.steps))
        for index, card in enumerate(cards[:-1]):
            if card.key == key:
                return cards[index + 1]
        return None

    def card(self, key: str) -> StepCard:
        """The card of the step with `key`, anywhere in the tree (KeyError if none)."""
        for card in every_card(self.steps):
            if card.key == key:
                return card
        raise KeyError(key)

    @property
    def activation_block(self) -> str:
        """Why the workflow cannot be switched on now ("Step 3 has errors"), or ""."""
        if self.workflow.enabled:
            return ""
        faulty = [card.number for card in every_card(self.steps) if card.issues]
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
        steps=step_cards(draft, secrets, workflow),
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
