"""The words of a failure notification: one failed run, or the count since the last notice
with the latest failed run (services.executions.failure_notices sends them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.services.executions.failure_details import Failure, failed_runs_url
from app.settings import Settings

MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class Message:
    """A notification: an email's subject and text, and Slack's mrkdwn text."""

    subject: str
    text: str
    slack: str


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "earlier"


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn control characters, as Slack asks them to be escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def compose(
    settings: Settings,
    *,
    workflow_id: int,
    workflow_name: str,
    failure: Failure | None,
    count: int,
    last_sent_at: datetime | None,
    first_pending_at: datetime | None,
    every_minutes: int,
) -> Message:
    """The notice of `count` failures, the latest being `failure` (None when it was deleted
    since). The first notice after a quiet spell tells of one run; one that follows a notice
    sent within the storm limit says how many more failed since."""
    name = _one_line(workflow_name)
    runs_url = failed_runs_url(settings, workflow_id)
    if count == 1:
        subject = f"[Stepline] “{name}” failed"
        head = f"A run of “{name}” failed."
    elif last_sent_at is not None:
        subject = f"[Stepline] “{name}”: {count} more failures"
        head = f"{count} more failures since the last notice ({_when(last_sent_at)})."
    else:
        subject = f"[Stepline] “{name}”: {count} failures"
        head = f"{count} failures since {_when(first_pending_at)}."
    lines = [head, ""]
    slack = [f"*{_slack_escape(head)}*"]
    if failure is not None:
        latest = "The latest" if count > 1 else "Run"
        where = f" at {failure.step.words()}" if failure.step else ""
        said = f"{latest}, run #{failure.execution_id}, failed{where}:"
        if count == 1:
            said = f"Run #{failure.execution_id} of “{name}” failed{where}:"
        error = _clip(failure.error)
        lines += [said, error, "", f"See the run: {failure.url}"]
        slack += [
            _slack_escape(said),
            f"> {_slack_escape(_one_line(error))}",
            f"<{failure.url}|See run #{failure.execution_id}>",
        ]
    if count > 1 or failure is None:
        lines.append(f"All failed runs: {runs_url}")
        slack.append(f"<{runs_url}|All failed runs>")
    lines += [
        "",
        f"At most one notice goes out every {every_minutes} minutes; the workflow's settings "
        "(When a run fails) change this.",
    ]
    return Message(subject=subject, text="\n".join(lines) + "\n", slack="\n".join(slack))
