"""Sheets trigger: a new row at the bottom of a sheet."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import Field

from app.google import scopes
from app.google.client import GoogleClient
from app.google.fields import a1_range
from app.triggers.google.polling import Found, GooglePollingTrigger, GoogleTriggerConfig, clip

MAX_COLUMNS = 200


class SheetsNewRowConfig(GoogleTriggerConfig):
    """Which sheet is watched."""

    spreadsheet_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The spreadsheet's id (the part of its URL after /d/).",
    )
    sheet: str = Field("Sheet1", min_length=1, max_length=100, description="The sheet's name.")
    header_row: bool = Field(
        True, description="The first row names the columns: each row also comes as named fields."
    )


def row_data(number: int, values: list[Any], header: list[Any] | None) -> dict[str, Any]:
    """A row as trigger data: its number, its values, and fields named by the header row."""
    cells = [clip(v, 5000) for v in values[:MAX_COLUMNS]]
    named = {}
    if header:
        for index, name in enumerate(header[:MAX_COLUMNS]):
            if str(name).strip():
                named[str(name).strip()] = cells[index] if index < len(cells) else ""
    return {"row_number": number, "values": cells, "fields": named}


class SheetsNewRowTrigger(GooglePollingTrigger):
    """Start the workflow for each new row added at the bottom of a Google Sheet."""

    type = "google.sheets_new_row"
    name = "Google Sheets: new row"
    description = (
        "Start the workflow for each row added at the bottom of a sheet. Rows present when "
        "the workflow is enabled never fire."
    )
    Config = SheetsNewRowConfig
    google_scopes = (scopes.SHEETS,)

    def start(self, now: datetime) -> Any:
        # Rows carry no time: the first poll (right after enabling) takes the row count.
        return None

    def fetch(self, client: GoogleClient, config: Any, cursor: Any) -> Found:
        target = quote(a1_range(config.sheet), safe="")
        answer = client.call(
            "GET",
            "sheets",
            f"/spreadsheets/{config.spreadsheet_id}/values/{target}",
            params={"majorDimension": "ROWS"},
        )
        rows = [r if isinstance(r, list) else [] for r in answer.get("values") or []]
        seen = int(cursor["rows"]) if isinstance(cursor, dict) else None
        if seen is None or len(rows) < seen:
            # First poll, or rows were deleted: take the sheet as it is now as the baseline.
            return Found({"rows": len(rows)})
        header = rows[0] if config.header_row and rows else None
        found = Found({"rows": len(rows)})
        for index in range(seen, len(rows)):
            if index == 0 and config.header_row:
                continue
            if any(str(v).strip() for v in rows[index]):
                found.add(row_data(index + 1, rows[index], header), {"rows": index + 1})
        if found.events:
            found.events[-1] = (found.events[-1][0], found.cursor)
        return found
