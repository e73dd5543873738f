"""The "When a run fails" section of the editor's settings panel: its inputs, read from the
draft's `settings.on_failure` or from a posted form, turned back into `on_failure`, and the
place of each refused field's message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from app.services.errors import InvalidInputError
from app.services.workflows import failure_settings, validation_messages
from app.services.workflows.failure_spec import DEFAULT_NOTIFY_MINUTES
from app.web.editor.view import Editor

WORKFLOW = "on_failure.workflow_id"
SENDER = "on_failure.email.sender"
TO = "on_failure.email.to"
SLACK = "on_failure.slack.credential_id"
CHANNEL = "on_failure.slack.channel"
MINUTES = "on_failure.notify_every_minutes"
INPUTS = (WORKFLOW, SENDER, TO, SLACK, CHANNEL, MINUTES)
FIELD_PREFIX = "settings.on_failure"
# Where a refused field of settings.on_failure is shown (the longest match wins).
FIELDS = {
    "settings.on_failure.workflow_id": WORKFLOW,
    "settings.on_failure.email": SENDER,
    "settings.on_failure.email.to": TO,
    "settings.on_failure.slack": SLACK,
    "settings.on_failure.slack.channel": CHANNEL,
    "settings.on_failure.notify_every_minutes": MINUTES,
}


@dataclass
class FailureSection:
    """What the section shows; `values`, `errors` and `paths` by input name, as a panel's."""

    values: dict[str, str]
    choices: failure_settings.Choices
    errors: dict[str, str] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    status: str = ""
    form_error: str = ""
    send_problems: list[str] = field(default_factory=list)

    @property
    def configured(self) -> bool:
        return any(self.values.get(name) for name in (WORKFLOW, SENDER, SLACK))

    @property
    def words(self) -> str:
        """What happens now, in a line ("Runs “Alert ops” · emails ops@… · …")."""
        if not self.configured:
            return "Nothing yet: a failed run only shows as failed in Executions."
        said = []
        labels = dict(self.choices.workflows)
        if self.values.get(WORKFLOW):
            name = labels.get(self.values[WORKFLOW], f"workflow #{self.values[WORKFLOW]}")
            said.append(f"runs {name}")
        if self.values.get(SENDER):
            said.append(f"emails {self.values.get(TO) or 'nobody yet'}")
        if self.values.get(SLACK):
            said.append(
                f"posts to Slack{' ' + self.values[CHANNEL] if self.values.get(CHANNEL) else ''}"
            )
        if self.values.get(SENDER) or self.values.get(SLACK):
            said.append(
                f"at most one notice every {self.values.get(MINUTES) or DEFAULT_NOTIFY_MINUTES} min"
            )
        text = " · ".join(said)
        return text[0].upper() + text[1:] + "."


def _values(on_failure: Mapping[str, Any] | None) -> dict[str, str]:
    raw = dict(on_failure or {})
    email = dict(raw.get("email") or {})
    slack = dict(raw.get("slack") or {})
    sender = ""
    if email.get("credential_id") is not None:
        sender = f"credential:{email['credential_id']}"
    elif email.get("connection_id") is not None:
        sender = f"connection:{email['connection_id']}"
    return {
        WORKFLOW: str(raw.get("workflow_id") or ""),
        SENDER: sender,
        TO: str(email.get("to") or ""),
        SLACK: str(slack.get("credential_id") or ""),
        CHANNEL: str(slack.get("channel") or ""),
        MINUTES: str(raw.get("notify_every_minutes") or DEFAULT_NOTIFY_MINUTES),
    }


def section(
    session: Session,
    editor: Editor,
    *,
    posted: Mapping[str, str] | None = None,
    status: str = "",
) -> FailureSection:
    """The section for the draft (or what was posted, to show it again with its errors)."""
    settings = editor.draft.spec.get("settings") or {}
    values = (
        {name: str(posted.get(name, "")).strip() for name in INPUTS}
        if posted is not None
        else _values(settings.get("on_failure"))
    )
    choices = failure_settings.choices(session, editor.workflow)
    chosen = values[WORKFLOW]
    if chosen and chosen not in {value for value, _ in choices.workflows}:
        choices.workflows.append((chosen, f"Workflow #{chosen} (deleted, or not yours)"))
    return FailureSection(
        values,
        choices,
        status=status,
        send_problems=failure_settings.send_problems(session, editor.workflow),
    )


def _id(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def parse(form: Mapping[str, str]) -> dict[str, Any] | None:
    """The posted section as `on_failure` (None when nothing is chosen); the service checks it."""
    values = {name: str(form.get(name, "")).strip() for name in INPUTS}
    on_failure: dict[str, Any] = {}
    if values[WORKFLOW]:
        on_failure["workflow_id"] = _id(values[WORKFLOW])
    if values[SENDER] or values[TO]:
        kind, _, ident = values[SENDER].partition(":")
        email: dict[str, Any] = {"to": values[TO]}
        if kind == "credential":
            email["credential_id"] = _id(ident)
        elif kind == "connection":
            email["connection_id"] = _id(ident)
        on_failure["email"] = email
    if values[SLACK] or values[CHANNEL]:
        slack: dict[str, Any] = {"channel": values[CHANNEL] or None}
        if values[SLACK]:
            slack["credential_id"] = _id(values[SLACK])
        on_failure["slack"] = slack
    if not on_failure:
        return None
    on_failure["notify_every_minutes"] = _id(values[MINUTES] or str(DEFAULT_NOTIFY_MINUTES))
    return on_failure


def place_errors(found: FailureSection, problems: list[InvalidInputError]) -> FailureSection:
    """Each refused field's message, in plain words, beside its input."""
    for problem in problems:
        path = problem.field or ""
        message = validation_messages.plain(problem.message)
        matches = [p for p in FIELDS if path == p or path.startswith(p + ".")]
        if not matches:
            found.form_error = f"{path}: {message}" if path else message
            continue
        name = FIELDS[max(matches, key=len)]
        found.errors.setdefault(name, message)
        found.paths[name] = path
    return found
