"""Gmail send action: an email (text and/or HTML) from the user's Gmail, through the Gmail API."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from pydantic import Field, field_validator, model_validator

from app.actions.base import ActionConfig, BaseActionHandler
from app.actions.mail import addresses, build_message, one_line, valid_addresses
from app.engine.context import StepContext
from app.google import scopes
from app.google.client import GoogleClient, google_pace
from app.google.fields import connection_field
from app.google.tokens import Tokens


class GmailSendConfig(ActionConfig):
    """Who the email goes to and what it says; header fields refuse line breaks."""

    connection_id: int = connection_field()
    to: str = Field(
        min_length=1, max_length=4000, description="Recipients, comma-separated; templated."
    )
    cc: str = Field("", max_length=4000, description="Copy recipients, comma-separated.")
    bcc: str = Field("", max_length=4000, description="Blind-copy recipients, comma-separated.")
    reply_to: str = Field("", max_length=1000, description="Reply-To address.")
    subject: str = Field(max_length=998, description="Subject line; templated.")
    body_text: str = Field("", max_length=1_000_000, description="Plain-text body; templated.")
    body_html: str = Field(
        "",
        max_length=1_000_000,
        description=(
            "HTML body; templated. Inserted values are not escaped for you: write "
            "{{ trigger.name | e }} for data that may hold markup."
        ),
    )

    _one_line = field_validator("to", "cc", "bcc", "reply_to", "subject")(one_line)
    _valid_addresses = field_validator("to", "cc", "bcc", "reply_to")(valid_addresses)

    @model_validator(mode="after")
    def _complete(self) -> GmailSendConfig:
        if not addresses(self.to):
            raise ValueError("give at least one recipient in `to`")
        if not (self.body_text or self.body_html):
            raise ValueError("give a text body, an HTML body, or both")
        return self


class GmailSendAction(BaseActionHandler):
    """Send an email from your Gmail account (text and/or HTML body)."""

    type = "gmail_send"
    category = "Google"
    name = "Gmail: send email"
    description = (
        "Send an email from a connected Gmail account: to, cc, bcc, subject, and a text "
        "and/or HTML body."
    )
    Config = GmailSendConfig
    sends = True
    dry_run = "record"  # every call goes through the guarded client
    google_scopes = (scopes.GMAIL_SEND,)

    def execute(self, context: StepContext, config: GmailSendConfig) -> dict[str, Any]:
        """Send the message; on a retry, first look for the copy an earlier attempt sent."""
        tokens = Tokens(context.session_factory, context.settings, context.secrets)
        gmail = GoogleClient(
            tokens,
            config.connection_id,
            context.execution.user_id,
            needs=self.google_scopes,
            pace=google_pace(context, config.connection_id),
        )
        # The same Message-ID on every attempt: a retry can find what an attempt sent.
        digest = hashlib.sha256(
            f"{context.execution.workflow_id}:{context.idempotency_key}".encode()
        ).hexdigest()[:24]
        message_id = f"<stepline.{digest}@{gmail.credentials.account_email.split('@')[-1]}>"
        if context.attempt > 1 and scopes.has_scope(gmail.credentials.scopes, scopes.GMAIL_READ):
            found = gmail.call(
                "GET",
                "gmail",
                "/users/me/messages",
                params={"q": f"rfc822msgid:{message_id.strip('<>')} in:sent", "maxResults": "1"},
            )
            earlier = found.get("messages") or []
            if earlier:
                return _output(earlier[0], message_id, resent=False)
        raw = base64.urlsafe_b64encode(build_message(config, message_id).as_bytes()).decode()
        sent = gmail.call("POST", "gmail", "/users/me/messages/send", body={"raw": raw})
        context.log.info("gmail message sent")
        return _output(sent, message_id, resent=True)


def _output(message: dict[str, Any], message_id: str, *, resent: bool) -> dict[str, Any]:
    return {
        "id": message.get("id"),
        "thread_id": message.get("threadId"),
        "label_ids": message.get("labelIds") or [],
        "message_id": message_id,
        "sent_by_this_attempt": resent,
    }
