"""Trigger handlers. BUILTIN_TRIGGERS is the one ordered list of the built-in kinds."""

from __future__ import annotations

from app.triggers.email_received import EmailReceivedTrigger
from app.triggers.google import GOOGLE_TRIGGERS
from app.triggers.manual import ManualTrigger
from app.triggers.schedule import ScheduleTrigger
from app.triggers.telegram_message import TelegramMessageTrigger
from app.triggers.webhook import WebhookTrigger

BUILTIN_TRIGGERS = (
    ManualTrigger,
    WebhookTrigger,
    ScheduleTrigger,
    *GOOGLE_TRIGGERS,
    EmailReceivedTrigger,
    TelegramMessageTrigger,
)
