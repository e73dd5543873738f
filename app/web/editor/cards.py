"""The editor's step cards: kind, icon and colour, a one-line summary of the config (in words,
references as pills), badges, what passes to the next step; a loop's card holds the cards of
its body, a paths step's card one lane of cards per branch (and "Otherwise")."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.crypto import SecretBox
from app.engine.program import OTHERWISE, kind_of
from app.extensions import container, db
from app.models import Workflow
from app.services.workflows import draft_tree, drafts, listing
from app.services.workflows.draft_tree import TOP, Slot
from app.services.workflows.step_checks import issues_of
from app.web.editor.summaries import (
    Piece,
    only_if,
    output_preview,
    output_words,
    pieces,
    summary,
)

ICONS = {
    "manual": "play",
    "webhook": "link",
    "schedule": "clock",
    "transform": "shuffle",
    "filter": "filter",
    "delay": "hourglass",
    "approval": "check",
    "log": "list",
    "http_request": "globe",
    "slack_message": "message",
    "loop": "repeat",
    "paths": "split",
    "run_workflow": "workflow",
    "send_email": "mail",
    "email_received": "mail",
    "telegram_send_message": "send",
    "telegram_message": "message",
    "discord_send_message": "message",
    "notion_create_page": "list",
    "notion_append_block": "list",
    "llm_chat": "zap",
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
    index: int  # in its own list
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
    address: str = ""  # "3", "3.1" (in loop 3's body), "4.a.2" (in branch a of step 4)
    slot: Slot = TOP  # the list it is in
    siblings: int = 1  # how many steps that list holds
    depth: int = 0  # containers around it
    body: list[StepCard] = field(default_factory=list)  # a loop's steps
    items: str = ""  # a loop's list, as written ("{{ trigger.body.items }}")
    lanes: list[Lane] = field(default_factory=list)  # a paths step's branches and "Otherwise"
    mode: str = ""  # a paths step's mode, in words
    can_move_down: bool = False  # a step follows in its list (and it is not a paths step)
    parent_name: str = ""  # the name of the loop or paths step it is in

    @property
    def number(self) -> str:
        return self.address or str(self.index + 1)

    @property
    def last(self) -> bool:
        return self.index == self.siblings - 1

    @property
    def container(self) -> str | None:
        return "loop" if self.type == "loop" else "paths" if self.type == "paths" else None

    def slot_inside(self) -> Slot:
        """A loop's body."""
        return Slot(self.key)

    @property
    def ends_list(self) -> bool:
        """A paths step: nothing follows it in its list (no "Add step" after it)."""
        return self.type == "paths"


@dataclass(frozen=True)
class Lane:
    """A branch of a paths step (or its "Otherwise"), as a lane of cards."""

    key: str  # the branch key, or "otherwise"
    name: str
    condition: str  # the condition in words ("" for "Otherwise", or not set yet)
    cards: list[StepCard]
    slot: Slot
    otherwise: bool = False
    pieces: list[Piece] = field(default_factory=list)  # the condition, references as pills


def _last_output(workflow: Workflow | None, draft: drafts.Draft, key: str) -> Any:
    """The step's output from its last test (in the draft), else the saved sample."""
    if key in draft.samples or workflow is None:
        return draft.samples.get(key)
    for action in workflow.actions:
        if action.key == key:
            return action.sample_output
    return None


def step_cards(
    draft: drafts.Draft,
    secrets: SecretBox,
    workflow: Workflow | None = None,
    steps: list[dict[str, Any]] | None = None,
    slot: Slot = TOP,
    prefix: str = "",
) -> list[StepCard]:
    """The cards of a list of the draft (the top level by default), with the cards of the
    steps inside loops and paths steps."""
    steps = draft.steps if steps is None else steps
    names = {str(s["key"]): str(s.get("name") or s["key"]) for s in draft_tree.each(draft.steps)}
    return [
        _card(draft, steps, index, slot, prefix, secrets, workflow, names)
        for index in range(len(steps))
    ]


def _card(
    draft: drafts.Draft,
    steps: list[dict[str, Any]],
    index: int,
    slot: Slot,
    prefix: str,
    secrets: SecretBox,
    workflow: Workflow | None,
    names: dict[str, str],
) -> StepCard:
    step = steps[index]
    type_ = str(step["type"])
    known = type_ in container().handlers.actions
    handler = container().handlers.actions.get(type_) if known else None
    config = step.get("config") or {}
    called = None  # the names of the workflows a run_workflow step may call, for its summary
    if type_ == "run_workflow" and workflow is not None:
        called = listing.workflow_names(db.session(), workflow.user_id)
    text = summary(type_, config, handler.secret_fields() if handler else frozenset(), called)
    key = str(step["key"])
    output = _last_output(workflow, draft, key) if workflow else draft.samples.get(key)
    address = f"{prefix}{index + 1}"
    found = issues_of(draft.steps, key, secrets, container().handlers.actions)
    issues = _with_branch_words(step, found)
    body: list[StepCard] = []
    lanes: list[Lane] = []
    if type_ == "loop":
        inner = draft_tree.lists(step)[0][1]
        body = step_cards(draft, secrets, workflow, inner, Slot(key), f"{address}.")
    elif type_ == "paths":
        lanes = _lanes(draft, step, address, secrets, workflow, names)
    return StepCard(
        index=index,
        key=key,
        type=type_,
        name=str(step.get("name") or step["key"]),
        kind=handler.name if handler else type_,
        icon=icon_for(type_),
        summary=text,
        enabled=bool(step.get("enabled", True)),
        sends=bool(handler and handler.sends),
        known=known,
        tested=step["key"] in draft.samples,
        issues=issues,
        pieces=pieces(text, names),
        passes=output_words(output),
        preview=output_preview(output),
        only_if=only_if(step.get("run_if")),
        address=address,
        slot=slot,
        siblings=len(steps),
        depth=len(draft.locate(key).containers),
        body=body,
        items=str(config.get("items") or "") if type_ == "loop" else "",
        lanes=lanes,
        mode=MODES.get(str(config.get("mode") or "first"), "") if type_ == "paths" else "",
        can_move_down=index + 1 < len(steps) and kind_of(steps[index + 1]) != "paths",
        parent_name=names.get(slot.parent, "") if slot.parent else "",
    )


MODES = {
    "first": "Takes the first branch whose condition holds",
    "all": "Takes every branch whose condition holds, in order",
}


def _lanes(
    draft: drafts.Draft,
    step: dict[str, Any],
    address: str,
    secrets: SecretBox,
    workflow: Workflow | None,
    names: dict[str, str],
) -> list[Lane]:
    key = str(step["key"])
    lanes = []
    for branch in step.get("branches") or []:
        branch_key = str(branch.get("key"))
        slot = Slot(key, branch_key)
        condition = branch.get("condition") or {}
        words = only_if(condition).replace("Only if ", "When ", 1)
        lanes.append(
            Lane(
                key=branch_key,
                name=str(branch.get("name") or branch_key),
                condition=words,
                pieces=pieces(words, names),
                cards=step_cards(
                    draft,
                    secrets,
                    workflow,
                    branch.get("steps") or [],
                    slot,
                    f"{address}.{branch_key}.",
                ),
                slot=slot,
            )
        )
    otherwise = step.get("otherwise")
    if isinstance(otherwise, dict):
        slot = Slot(key, OTHERWISE)
        lanes.append(
            Lane(
                key=OTHERWISE,
                name=str(otherwise.get("name") or "Otherwise"),
                condition="",
                cards=step_cards(
                    draft, secrets, workflow, otherwise.get("steps") or [], slot, f"{address}.o."
                ),
                slot=slot,
                otherwise=True,
            )
        )
    return lanes


def _with_branch_words(step: Mapping[str, Any], issues: list[str]) -> list[str]:
    """A branch without any condition yet says so ("Branch “VIP” has no condition yet")
    instead of the validation's "Branch VIP: Add at least one."."""
    empty = [
        branch
        for branch in step.get("branches") or []
        if not (branch.get("condition") or {}).get("conditions")
    ]
    for index, branch in enumerate(step.get("branches") or []):
        if branch in empty:
            label = f"Branch {branch.get('name') or index + 1}: "
            issues = [issue for issue in issues if not issue.startswith(label)]
    return issues + [
        f"Branch “{branch.get('name') or branch.get('key')}” has no condition yet."
        for branch in empty
    ]


def every_card(cards: list[StepCard]) -> Iterator[StepCard]:
    """Every card of the tree, in pre-order."""
    for card in cards:
        yield card
        yield from every_card(card.body)
        for lane in card.lanes:
            yield from every_card(lane.cards)
