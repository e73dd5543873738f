"""The Google triggers: polled by the scheduler with the user's connection, each with a cursor
in Trigger.state so that every new item fires once and nothing older than enabling fires."""

from __future__ import annotations

from app.triggers.google.calendar import CalendarNewEventTrigger
from app.triggers.google.drive import DriveNewFileTrigger
from app.triggers.google.gmail import GmailNewMessageTrigger
from app.triggers.google.sheets import SheetsNewRowTrigger

GOOGLE_TRIGGERS = (
    GmailNewMessageTrigger,
    SheetsNewRowTrigger,
    DriveNewFileTrigger,
    CalendarNewEventTrigger,
)

__all__ = [
    "GOOGLE_TRIGGERS",
    "CalendarNewEventTrigger",
    "DriveNewFileTrigger",
    "GmailNewMessageTrigger",
    "SheetsNewRowTrigger",
]
