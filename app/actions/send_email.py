"""Send email through an SMTP server (an `smtp` credential), through the guarded SMTP client."""

from __future__ import annotations

import hashlib
from email.utils import formataddr, parseaddr
from typing import Any

from pydantic import Field, field_validator, model_validator

from app.actions.base import ActionConfig, BaseActionHandler
from app.actions.mail import addresses, build_message, one_line, valid_addresses
from app.credentials.fields import credential_field
from app.engine.context import StepContext
from app.engine.errors import ActionError
from app.net import OutboundError
from app.net.redaction import redact_secrets
from app.net.smtp import SMTPClient, SMTPServer


class SendEmailConfig(ActionConfig):
    """Who the email goes to and what it says; header fields refuse line breaks."""

    credential_id: int = credential_field(
        kinds=("smtp",), default=..., description="The SMTP server (and sender) to send with."
    )
    to: str = Field(
        min_length=1, max_length=4000, description="Recipients, comma-separated; templated."
    )
    cc: str = Field("", max_length=4000, description="Copy recipients, comma-separated.")
    bcc: str = Field("", max_length=4000, description="Blind-copy recipients, comma-separated.")
    reply_to: str = Field("", max_length=1000, description="Reply-To address.")
    from_name: str = Field(
        "", max_length=200, description="Sender's name shown with the credential's address."
    )
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

    _one_line = field_validator("to", "cc", "bcc", "reply_to", "from_name", "subject")(one_line)
    _valid_addresses = field_validator("to", "cc", "bcc", "reply_to")(valid_addresses)

    @model_validator(mode="after")
    def _complete(self) -> SendEmailConfig:
        if not addresses(self.to):
            raise ValueError("give at least one recipient in `to`")
        if not (self.body_text or self.body_html):
            raise ValueError("give a text body, an HTML body, or both")
        return self


class SendEmailAction(BaseActionHandler):
    """Send an email through an SMTP server (text and/or HTML body)."""

    type = "send_email"
    category = "Email"
    name = "Send email (SMTP)"
    description = (
        "Send an email through an SMTP server: to, cc, bcc, reply-to, subject, and a text "
        "and/or HTML body. The sender is the SMTP credential's address."
    )
    Config = SendEmailConfig
    sends = True
    # Every message goes through the guarded SMTP client, which records it in a dry run.
    dry_run = "record"

    def execute(self, context: StepContext, config: SendEmailConfig) -> dict[str, Any]:
        """Send the message; its Message-ID is the same on every attempt of this step."""
        fields = context.credential(config.credential_id, ("smtp",))
        server = SMTPServer.from_fields(fields)
        name, address = parseaddr(str(fields.get("from_address") or ""))
        if not address:
            raise ActionError("The SMTP credential has no sender address.", retryable=False)
        sender = formataddr((config.from_name or name, address))
        digest = hashlib.sha256(
            f"{context.execution.workflow_id}:{context.idempotency_key}".encode()
        ).hexdigest()[:24]
        message_id = f"<stepline.{digest}@{address.rsplit('@', 1)[-1]}>"
        message = build_message(config, message_id, sender)
        try:
            result = SMTPClient.from_settings(context.settings).send(server, message)
        except OutboundError as exc:
            raise ActionError(
                redact_secrets(f"SMTP: {exc}", [server.password]), retryable=exc.retryable
            ) from None
        context.log.info("email sent to %d recipient(s)", len(result["accepted"]))
        return {"message_id": message_id, **result}
