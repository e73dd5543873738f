"""`settings.on_failure` of a workflow: what happens when one of its runs fails.

An error workflow (n8n's "Error Workflow") of the same user is started with the failed run's
details as its trigger data, and/or a notification with a link to the run goes out by email
(an SMTP credential or a Gmail connection) and/or Slack (a Slack credential), at most one per
`notify_every_minutes`. The services that act on it: services/executions/failure_handling.py.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from app.actions.mail import addresses, one_line

DEFAULT_NOTIFY_MINUTES = 10
MAX_ID = 2**31 - 1  # workflow, credential and connection ids are 32-bit integers
MAX_NOTIFY_MINUTES = 24 * 60


class FailureEmail(BaseModel):
    """Email the notification to `to`, through one of your SMTP credentials or Gmail."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(
        max_length=1000,
        description="Recipients, comma-separated (e.g. `ops@example.com`).",
    )
    credential_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="One of your `smtp` credentials to send with; or `connection_id`.",
    )
    connection_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="One of your Google connections (Gmail, with the send permission) to send "
        "from; or `credential_id`.",
    )

    @field_validator("to")
    @classmethod
    def _recipients(cls, value: str) -> str:
        try:
            found = addresses(one_line(value))
        except ValueError as exc:
            why = {"why": str(exc)}
            raise PydanticCustomError("email", "Check the addresses: {why}.", why) from None
        if not found:
            raise PydanticCustomError("email", "Give the address to send to (ops@example.com).")
        return value.strip()

    @model_validator(mode="after")
    def _one_sender(self) -> FailureEmail:
        if (self.credential_id is None) == (self.connection_id is None):
            raise PydanticCustomError(
                "sender", "Choose how to send: an SMTP credential or a Gmail connection (one)."
            )
        return self


class FailureSlack(BaseModel):
    """Post the notification to Slack with one of your Slack credentials."""

    model_config = ConfigDict(extra="forbid")

    credential_id: int = Field(
        ge=1,
        le=MAX_ID,
        description="One of your `slack` credentials: its incoming webhook posts to its own "
        "channel; with a bot token, `channel` says where.",
    )
    channel: str | None = Field(
        None,
        max_length=200,
        description="Channel ID or name (e.g. `#alerts`) for a bot token; ignored by a webhook.",
    )

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return (value or "").strip() or None


class OnFailure(BaseModel):
    """When a run fails (not a dry run, not the editor's test run): start `workflow_id` with
    the failed run's details, and/or notify by email and/or Slack."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="An error workflow: one of your workflows (this one included), started "
        "for every failed run, enabled or not, with trigger data `{workflow: {id, name}, "
        "execution: {id, url, trigger_type, started_at, finished_at}, failed_step: {key, name, "
        "type, address} or null, error, trigger_data}`. A run that failure handling started "
        "never starts an error workflow itself when it fails (no loops); it is still notified.",
    )
    email: FailureEmail | None = Field(None, description="Send a notification by email.")
    slack: FailureSlack | None = Field(None, description="Post a notification to Slack.")
    notify_every_minutes: int = Field(
        DEFAULT_NOTIFY_MINUTES,
        ge=1,
        le=MAX_NOTIFY_MINUTES,
        description="At most one notification per this many minutes; the failures in between "
        'are counted in the next one ("4 more failures since the last notice").',
    )

    @model_validator(mode="after")
    def _something(self) -> OnFailure:
        if self.workflow_id is None and self.email is None and self.slack is None:
            raise PydanticCustomError(
                "on_failure",
                "Choose an error workflow, an email or Slack (or leave `on_failure` out).",
            )
        return self

    @property
    def notifies(self) -> bool:
        return self.email is not None or self.slack is not None
