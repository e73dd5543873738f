"""Google Sheets append row action: add one row of (templated) values under a sheet's table."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field

from app.actions.base import ActionConfig, BaseActionHandler
from app.engine.context import StepContext
from app.google import scopes
from app.google.client import GoogleClient, google_pace
from app.google.fields import a1_range, connection_field
from app.google.tokens import Tokens

Cell = str | int | float | bool | None


class SheetsAppendRowConfig(ActionConfig):
    """Which sheet gets the row, and the row's values."""

    connection_id: int = connection_field()
    spreadsheet_id: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The spreadsheet's id (the part of its URL after /d/).",
    )
    sheet: str = Field("Sheet1", min_length=1, max_length=100, description="The sheet's name.")
    values: list[Cell] = Field(
        min_length=1,
        max_length=1000,
        description="The row's cells, left to right; each may be a template.",
    )
    value_input: Literal["RAW", "USER_ENTERED"] = Field(
        "RAW",
        description=(
            "RAW stores values as they are. USER_ENTERED parses them as if typed in Sheets "
            "(dates, numbers, and formulas: only for values you trust)."
        ),
    )


class SheetsAppendRowAction(BaseActionHandler):
    """Append a row of values to a Google Sheet."""

    type = "sheets_append_row"
    category = "Google"
    name = "Google Sheets: append row"
    description = "Append a row of values (templates allowed) under the table of a Google Sheet."
    Config = SheetsAppendRowConfig
    sends = True
    dry_run = "record"  # every call goes through the guarded client
    google_scopes = (scopes.SHEETS,)

    def execute(self, context: StepContext, config: SheetsAppendRowConfig) -> dict[str, Any]:
        """Append the row; return the range Sheets wrote."""
        tokens = Tokens(context.session_factory, context.settings, context.secrets)
        sheets = GoogleClient(
            tokens,
            config.connection_id,
            context.execution.user_id,
            needs=self.google_scopes,
            pace=google_pace(context, config.connection_id),
        )
        target = quote(a1_range(config.sheet, "A1"), safe="")
        answer = sheets.call(
            "POST",
            "sheets",
            f"/spreadsheets/{config.spreadsheet_id}/values/{target}:append",
            params={"valueInputOption": config.value_input, "insertDataOption": "INSERT_ROWS"},
            body={"majorDimension": "ROWS", "values": [list(config.values)]},
        )
        updates = answer.get("updates") or {}
        return {
            "spreadsheet_id": config.spreadsheet_id,
            "updated_range": updates.get("updatedRange"),
            "updated_rows": updates.get("updatedRows", 0),
        }
