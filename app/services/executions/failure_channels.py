"""Sending a failure notification: email through an SMTP credential (app/net/smtp.py) or a
Gmail connection (app/google), Slack through a Slack credential (incoming webhook, or bot token
and channel). Every call goes through the guarded outbound clients; a failure is a
NoticeNotSentError whose message names no secret."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, parseaddr

from sqlalchemy.orm import Session

from app.actions.mail import addresses
from app.credentials import store
from app.crypto import SecretBox
from app.engine.errors import ActionError
from app.google import scopes
from app.google.client import GoogleClient
from app.google.tokens import Tokens
from app.net import GuardedClient, GuardedResponse, OutboundError
from app.net.redaction import redact_secrets
from app.net.smtp import SMTPClient, SMTPServer
from app.services.executions.failure_messages import Message
from app.services.workflows.failure_spec import FailureEmail, FailureSlack
from app.settings import Settings

EMAIL, SLACK = "email", "slack"
CHANNELS = (EMAIL, SLACK)


class NoticeNotSentError(Exception):
    """A notification could not be sent; the message is fit to log and show."""


@dataclass(frozen=True)
class Senders:
    """What sending needs: the database (credentials, connections), settings and the key."""

    session_factory: Callable[[], Session]
    settings: Settings
    secrets: SecretBox


def _credential(senders: Senders, user_id: int, credential_id: int, kind: str) -> store.Unsealed:
    with senders.session_factory() as session:
        try:
            return store.load(
                session, senders.secrets, user_id=user_id, credential_id=credential_id, kinds=kind
            )
        except store.CredentialUnavailableError as exc:
            raise NoticeNotSentError(str(exc)) from None


def _hidden(unsealed: store.Unsealed) -> list[str | None]:
    """The credential's secret values, to redact from what is logged and shown."""
    return [*unsealed.secrets]


def _email(message: Message, to: str, sender: str | None, domain: str, key: str) -> EmailMessage:
    email = EmailMessage(policy=SMTP_POLICY)
    if sender:
        email["From"] = sender
    email["To"] = ", ".join(addresses(to))
    email["Subject"] = message.subject
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    email["Message-ID"] = f"<stepline.failure.{digest}@{domain}>"
    email.set_content(message.text)
    return email


def send_email(
    senders: Senders, user_id: int, email: FailureEmail, message: Message, key: str
) -> None:
    """Email the notice through the SMTP credential or the Gmail connection."""
    if email.credential_id is not None:
        unsealed = _credential(senders, user_id, email.credential_id, "smtp")
        name, address = parseaddr(str(unsealed.fields.get("from_address") or ""))
        if not address:
            raise NoticeNotSentError("The SMTP credential has no sender address.")
        try:
            server = SMTPServer.from_fields(unsealed.fields)
            mail = _email(message, email.to, formataddr((name, address)), address, key)
            SMTPClient.from_settings(senders.settings).send(server, mail)
        except OutboundError as exc:
            raise NoticeNotSentError(redact_secrets(f"SMTP: {exc}", _hidden(unsealed))) from None
        return
    assert email.connection_id is not None  # FailureEmail names one sender
    tokens = Tokens(senders.session_factory, senders.settings, senders.secrets)
    gmail = GoogleClient(tokens, email.connection_id, user_id, needs=(scopes.GMAIL_SEND,))
    try:
        domain = gmail.credentials.account_email.rsplit("@", 1)[-1]
        raw = base64.urlsafe_b64encode(_email(message, email.to, None, domain, key).as_bytes())
        gmail.call("POST", "gmail", "/users/me/messages/send", body={"raw": raw.decode()})
    except (ActionError, OutboundError) as exc:  # Google's errors are step errors
        raise NoticeNotSentError(f"Gmail: {exc}") from None


def send_slack(senders: Senders, user_id: int, slack: FailureSlack, message: Message) -> None:
    """Post the notice with the Slack credential: its webhook, else its bot token."""
    unsealed = _credential(senders, user_id, slack.credential_id, "slack")
    webhook = str(unsealed.fields.get("webhook_url") or "")
    token = str(unsealed.fields.get("bot_token") or "")
    client = GuardedClient.from_settings(senders.settings)
    payload = {"text": message.slack, "unfurl_links": False}
    try:
        if webhook:
            response = client.post_json(webhook, payload)
            problem = None if 200 <= response.status < 300 else response.text[:100]
        else:
            if not slack.channel:
                raise NoticeNotSentError(
                    "The Slack credential is a bot token: choose a channel to post to."
                )
            base = senders.settings.slack_api_base_url.rstrip("/")
            response = client.post_json(
                f"{base}/chat.postMessage",
                {"channel": slack.channel, **payload},
                headers={"Authorization": f"Bearer {token}"},
            )
            problem = _api_problem(response.status, _json(response))
    except OutboundError as exc:
        raise NoticeNotSentError(redact_secrets(f"Slack: {exc}", _hidden(unsealed))) from None
    if problem is not None:
        said = redact_secrets(problem.strip() or f"HTTP {response.status}", _hidden(unsealed))
        raise NoticeNotSentError(f"Slack refused the message: {said}")


def _json(response: GuardedResponse) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _api_problem(status: int, body: object) -> str | None:
    if isinstance(body, dict) and body.get("ok"):
        return None
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])[:100]
    return f"HTTP {status}"
