"""The fake Sheets, Drive and Calendar APIs (see tests/fakes/google_apis.py for Gmail)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from app.google import scopes as google_scopes
from tests.fakes.google_apis import FORBIDDEN, NOT_FOUND, FakeAPI, now_ms, rfc3339
from tests.fakes.http import RecordedRequest, Reply

# -- Sheets --------------------------------------------------------------------------------


def _sheet_of(a1: str) -> str:
    """The sheet name of an A1 range (`'My sheet'!A1`, `Sheet1!A:Z`, `Sheet1`)."""
    if a1.startswith("'"):
        name, index = [], 1
        while index < len(a1):
            if a1[index] == "'" and a1[index + 1 : index + 2] == "'":
                name.append("'")
                index += 2
            elif a1[index] == "'":
                break
            else:
                name.append(a1[index])
                index += 1
        return "".join(name)
    return a1.split("!", 1)[0]


class FakeSheets(FakeAPI):
    prefix = "/v4/spreadsheets/"

    def __init__(self) -> None:
        super().__init__()
        self.spreadsheets: dict[str, dict[str, list[list[Any]]]] = {}
        self.appends: list[dict[str, Any]] = []

    def add_sheet(
        self, spreadsheet_id: str, sheet: str = "Sheet1", rows: Iterable[list[Any]] = ()
    ) -> None:
        with self._lock:
            self.spreadsheets.setdefault(spreadsheet_id, {})[sheet] = [list(r) for r in rows]

    def add_row(self, spreadsheet_id: str, sheet: str, values: list[Any]) -> None:
        with self._lock:
            self.spreadsheets[spreadsheet_id][sheet].append(list(values))

    def rows(self, spreadsheet_id: str, sheet: str = "Sheet1") -> list[list[Any]]:
        return self.spreadsheets[spreadsheet_id][sheet]

    def route(self, request: RecordedRequest, path: str, granted: set[str]) -> Reply:
        if not self.allowed(granted, google_scopes.SHEETS):
            return FORBIDDEN
        spreadsheet_id, _, rest = path.partition("/values/")
        append = rest.endswith(":append")
        a1 = unquote(rest.removesuffix(":append"))
        sheet = self.spreadsheets.get(spreadsheet_id, {}).get(_sheet_of(a1))
        if sheet is None:
            return NOT_FOUND
        if request.method == "GET":
            body: dict[str, Any] = {"range": a1, "majorDimension": "ROWS"}
            if sheet:
                body["values"] = sheet
            return Reply.json(body)
        if request.method == "POST" and append:
            values = request.json()["values"]
            self.appends.append(
                {
                    "spreadsheet_id": spreadsheet_id,
                    "range": a1,
                    "values": values,
                    "value_input": request.query.get("valueInputOption", [""])[0],
                }
            )
            sheet.extend(values)
            row = len(sheet)
            updated = f"{a1.split('!')[0]}!A{row}:{chr(64 + len(values[0]))}{row}"
            return Reply.json(
                {
                    "spreadsheetId": spreadsheet_id,
                    "updates": {
                        "updatedRange": updated,
                        "updatedRows": len(values),
                        "updatedCells": len(values[0]),
                    },
                }
            )
        return NOT_FOUND


# -- Drive ---------------------------------------------------------------------------------


class FakeDrive(FakeAPI):
    prefix = "/drive/v3/"

    def __init__(self) -> None:
        super().__init__()
        self.files: list[dict[str, Any]] = []

    def add_file(
        self,
        folder_id: str,
        name: str,
        *,
        at: datetime | None = None,
        mime_type: str = "text/plain",
    ) -> str:
        file_id = secrets.token_hex(10)
        created = rfc3339(self.stamp(at))
        with self._lock:
            self.files.append(
                {
                    "id": file_id,
                    "name": name,
                    "mimeType": mime_type,
                    "createdTime": created,
                    "modifiedTime": created,
                    "parents": [folder_id],
                    "trashed": False,
                    "webViewLink": f"https://drive.example.com/{file_id}",
                }
            )
        return file_id

    def route(self, request: RecordedRequest, path: str, granted: set[str]) -> Reply:
        if not self.allowed(granted, google_scopes.DRIVE_READ):
            return FORBIDDEN
        if request.method != "GET" or path != "files":
            return NOT_FOUND
        query = request.query.get("q", [""])[0]
        matching = [f for f in self.files if _drive_matches(f, query)]
        matching.sort(key=lambda f: f["createdTime"])
        chunk, token = self.page(matching, request, "pageSize", 100)
        body: dict[str, Any] = {
            "files": [{k: v for k, v in f.items() if k != "trashed"} for f in chunk]
        }
        if token:
            body["nextPageToken"] = token
        return Reply.json(body)


def _drive_matches(entry: dict[str, Any], query: str) -> bool:
    for clause in query.split(" and "):
        clause = clause.strip()
        if clause.endswith("in parents"):
            if clause.split("'")[1] not in entry["parents"]:
                return False
        elif clause.startswith("trashed"):
            if entry["trashed"]:
                return False
        elif clause.startswith("mimeType !="):
            if entry["mimeType"] == clause.split("'")[1]:
                return False
        elif clause.startswith("createdTime >="):
            since = datetime.fromisoformat(clause.split("'")[1]).replace(tzinfo=UTC)
            if datetime.fromisoformat(entry["createdTime"]) < since:
                return False
    return True


# -- Calendar ------------------------------------------------------------------------------


class FakeCalendar(FakeAPI):
    prefix = "/calendar/v3/calendars/"

    def __init__(self) -> None:
        super().__init__()
        self.events: dict[str, list[dict[str, Any]]] = {}

    def add_event(
        self, summary: str, calendar_id: str = "primary", *, at: datetime | None = None
    ) -> str:
        event_id = secrets.token_hex(10)
        created = rfc3339(self.stamp(at))
        with self._lock:
            self.events.setdefault(calendar_id, []).append(
                {
                    "id": event_id,
                    "summary": summary,
                    "status": "confirmed",
                    "created": created,
                    "updated": created,
                    "start": {"dateTime": created},
                    "end": {"dateTime": created},
                    "htmlLink": f"https://calendar.example.com/{event_id}",
                }
            )
        return event_id

    def update_event(self, event_id: str, summary: str) -> None:
        with self._lock:
            for events in self.events.values():
                for event in events:
                    if event["id"] == event_id:
                        event.update(summary=summary, updated=rfc3339(now_ms()))

    def route(self, request: RecordedRequest, path: str, granted: set[str]) -> Reply:
        if not self.allowed(granted, google_scopes.CALENDAR_READ):
            return FORBIDDEN
        calendar_id, _, rest = path.partition("/")
        if request.method != "GET" or rest != "events":
            return NOT_FOUND
        since = datetime.fromisoformat(request.query.get("updatedMin", ["1970-01-01T00:00:00Z"])[0])
        matching = [
            e
            for e in self.events.get(unquote(calendar_id), [])
            if datetime.fromisoformat(e["updated"]) >= since and e["status"] != "cancelled"
        ]
        matching.sort(key=lambda e: e["updated"])
        chunk, token = self.page(matching, request, "maxResults", 250)
        body: dict[str, Any] = {"items": chunk}
        if token:
            body["nextPageToken"] = token
        return Reply.json(body)
