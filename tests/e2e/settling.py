"""Waiting for htmx before acting on what it swapped in."""

from __future__ import annotations

from playwright.sync_api import Locator, expect


def select_settled(select: Locator, value: str) -> None:
    """Pick `value` in a native select once htmx has settled what it swapped in last: htmx
    hears an element's change only from its settle on (about 20 ms after the swap), and under
    load a select changed before that (a panel's Kind, just shown) was never heard."""
    expect(select.page.locator(".htmx-added")).to_have_count(0)
    select.select_option(value)
