"""Reading Google's paged list answers (nextPageToken), within a bound per poll."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.google.client import GoogleClient

MAX_PAGES = 5  # per poll; a busier window is read on later polls (the cursor waits)


def pages(
    client: GoogleClient,
    api: str,
    path: str,
    params: Mapping[str, str],
    key: str,
    max_pages: int = MAX_PAGES,
) -> list[dict[str, Any]]:
    """The entries under `key` of up to `max_pages` pages of a list call."""
    entries: list[dict[str, Any]] = []
    token = None
    for _ in range(max_pages):
        answer = client.call(
            "GET", api, path, params={**params, **({"pageToken": token} if token else {})}
        )
        entries += [e for e in answer.get(key) or [] if isinstance(e, dict)]
        token = answer.get("nextPageToken")
        if not token:
            break
    return entries
