"""Calendar trigger: a new event in a calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import Field

from app.google import scopes
from app.google.client import GoogleClient
from app.triggers.google.cursor import Item, Watermark
from app.triggers.google.listing import pages
from app.triggers.google.polling import Found, GoogleTriggerConfig, WatermarkTrigger, clip


class CalendarNewEventConfig(GoogleTriggerConfig):
    """Which calendar is watched."""

    calendar_id: str = Field(
        "primary",
        min_length=1,
        max_length=300,
        description="The calendar's id (`primary` for the account's main calendar).",
    )


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def event_data(event: dict[str, Any]) -> dict[str, Any]:
    """A Calendar event resource as trigger data."""
    organizer = event.get("organizer") or {}
    return {
        "id": event.get("id"),
        "summary": clip(event.get("summary") or "", 2000),
        "description": clip(event.get("description") or ""),
        "location": clip(event.get("location") or "", 2000),
        "status": event.get("status"),
        "start": event.get("start") or {},
        "end": event.get("end") or {},
        "created": event.get("created"),
        "updated": event.get("updated"),
        "html_link": event.get("htmlLink"),
        "organizer": {"email": organizer.get("email"), "name": organizer.get("displayName")},
        "attendees": [
            {"email": a.get("email"), "response": a.get("responseStatus")}
            for a in event.get("attendees") or []
            if isinstance(a, dict)
        ],
        "recurrence": event.get("recurrence") or [],
    }


class CalendarNewEventTrigger(WatermarkTrigger):
    """Start the workflow for each new event created in a Google Calendar."""

    type = "google.calendar_new_event"
    name = "Google Calendar: new event"
    description = (
        "Start the workflow for each event created in a calendar after the workflow was "
        "enabled (a recurring event fires once; changes to events do not fire)."
    )
    Config = CalendarNewEventConfig
    google_scopes = (scopes.CALENDAR_READ,)

    def fetch(self, client: GoogleClient, config: Any, cursor: Any) -> Found:
        mark = Watermark.load(cursor)
        params = {
            "updatedMin": mark.since.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "showDeleted": "false",
            "singleEvents": "false",
            "orderBy": "updated",
            "maxResults": "250",
        }
        path = f"/calendars/{quote(config.calendar_id, safe='')}/events"
        listed = pages(client, "calendar", path, params, "items")
        items = [
            Item(str(e["id"]), _time(e["created"]), event_data(e))
            for e in listed
            if e.get("id") and e.get("created") and e.get("status") != "cancelled"
        ]
        found = Found(cursor)
        for item in mark.new(items):
            mark = mark.after(item)
            found.add(item.data, mark.dump())
        found.cursor = mark.dump()
        return found
