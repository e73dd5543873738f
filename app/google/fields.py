"""Config fields shared by the Google triggers and actions."""

from __future__ import annotations

from typing import Any

from pydantic import Field


def connection_field(**kwargs: Any) -> Any:
    """The `connection_id` of a Google step or trigger: one of the owner's connections,
    checked when the workflow is saved and again when it runs."""
    return Field(
        ge=1,
        description="Your Google connection (see the Connections page).",
        json_schema_extra={"format": "connection", "provider": "google"},
        **kwargs,
    )


def a1_range(sheet: str, cells: str = "") -> str:
    """A1 notation for `cells` of `sheet`, the sheet name quoted the way Sheets expects."""
    quoted = "'" + sheet.replace("'", "''") + "'"
    return f"{quoted}!{cells}" if cells else quoted
