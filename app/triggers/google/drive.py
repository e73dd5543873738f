"""Drive trigger: a new file in a folder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from app.google import scopes
from app.google.client import GoogleClient
from app.triggers.google.cursor import Item, Watermark
from app.triggers.google.listing import pages
from app.triggers.google.polling import Found, GoogleTriggerConfig, WatermarkTrigger

FIELDS = (
    "nextPageToken,files(id,name,mimeType,createdTime,modifiedTime,size,webViewLink,"
    "parents,owners(displayName,emailAddress))"
)
FOLDER_TYPE = "application/vnd.google-apps.folder"


class DriveNewFileConfig(GoogleTriggerConfig):
    """Which folder is watched."""

    folder_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The folder's id (the part of its URL after /folders/).",
    )


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def file_data(entry: dict[str, Any]) -> dict[str, Any]:
    """A Drive file resource as trigger data."""
    return {
        "id": entry.get("id"),
        "name": entry.get("name"),
        "mime_type": entry.get("mimeType"),
        "created_time": entry.get("createdTime"),
        "modified_time": entry.get("modifiedTime"),
        "size": entry.get("size"),
        "web_view_link": entry.get("webViewLink"),
        "parents": entry.get("parents") or [],
        "owners": [
            {"name": o.get("displayName"), "email": o.get("emailAddress")}
            for o in entry.get("owners") or []
            if isinstance(o, dict)
        ],
    }


class DriveNewFileTrigger(WatermarkTrigger):
    """Start the workflow for each new file created in a Google Drive folder."""

    type = "google.drive_new_file"
    name = "Google Drive: new file"
    description = (
        "Start the workflow for each file created in (or uploaded to) a Drive folder after the "
        "workflow was enabled. Sub-folders do not fire; a file moved in keeps its creation "
        "time and fires only if it was created after enabling."
    )
    Config = DriveNewFileConfig
    google_scopes = (scopes.DRIVE_READ,)

    def fetch(self, client: GoogleClient, config: Any, cursor: Any) -> Found:
        mark = Watermark.load(cursor)
        since = mark.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        query = (
            f"'{config.folder_id}' in parents and trashed = false and "
            f"mimeType != '{FOLDER_TYPE}' and createdTime >= '{since}'"
        )
        params = {
            "q": query,
            "orderBy": "createdTime",
            "pageSize": "100",
            "fields": FIELDS,
            "supportsAllDrives": "true",
            "includeItemsFromAllDrives": "true",
        }
        listed = pages(client, "drive", "/files", params, "files")
        items = [
            Item(str(e["id"]), _time(e["createdTime"]), file_data(e))
            for e in listed
            if e.get("id") and e.get("createdTime")
        ]
        found = Found(cursor)
        for item in mark.new(items):
            mark = mark.after(item)
            found.add(item.data, mark.dump())
        found.cursor = mark.dump()
        return found
