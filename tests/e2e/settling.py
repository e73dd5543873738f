"""Waiting for htmx before acting on what it swapped in."""

from __future__ import annotations

from playwright.sync_api import Locator, expect


def select_settled(select: Locator, value: str) -> None:
    """Pick `value` in a native select once htmx has settled what it swapped in last: htmx
    hears an element's change only from its settle on (about 20 ms after the swap), and under
    load a select changed before that (a panel's Kind, just shown) was never heard."""
    expect(select.page.locator(".htmx-added")).to_have_count(0)
    select.select_option(value)


def click_settled(target: Locator) -> None:
    """Click `target` once htmx has no request in flight and has settled what it swapped in
    last: the editor's Save, right after Apply, is in a toolbar that refreshes itself on
    Apply's answer, and under load a click on the button being replaced was lost (CI)."""
    page = target.page
    expect(page.locator(".htmx-request")).to_have_count(0)
    expect(page.locator(".htmx-added, .htmx-settling, .htmx-swapping")).to_have_count(0)
    target.click()
