"""The watermark cursor of the time-ordered Google triggers (Gmail, Drive, Calendar)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.triggers.google.cursor import LAG, Item, Watermark

ENABLED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def item(name: str, minutes: float) -> Item:
    return Item(name, ENABLED + timedelta(minutes=minutes), {"name": name})


def test_nothing_older_than_enabling_is_new() -> None:
    # Given a cursor started when the trigger was enabled
    cursor = Watermark.starting(ENABLED)

    # When Google lists an item from before and two from after, out of order
    found = cursor.new([item("b", 2), item("old", -1), item("a", 1)])

    # Then only the later two are new, oldest first
    assert [i.id for i in found] == ["a", "b"]


def test_an_item_fires_once_even_when_listed_again() -> None:
    # Given a cursor past item a
    cursor = Watermark.starting(ENABLED).after(item("a", 1))

    # When the next listing holds a again, and a late item older than a (indexing lag)
    found = cursor.new([item("a", 1), item("late", 0.5), item("b", 3)])

    # Then a does not fire again, and the late one still does
    assert [i.id for i in found] == ["late", "b"]


def test_the_cursor_survives_json_and_forgets_ids_behind_the_lag() -> None:
    # Given a cursor that fired an item, then one much later
    cursor = Watermark.starting(ENABLED).after(item("a", 1))
    cursor = Watermark.load(cursor.after(item("b", 1 + 2 * LAG.total_seconds() / 60)).dump())

    # Then it keeps only the ids within the lag of its mark, and asks Google from there
    assert set(cursor.seen) == {"b"}
    assert cursor.since == cursor.mark - LAG
    assert cursor.floor == ENABLED
    # And an item behind the window never fires
    assert cursor.new([item("a", 1)]) == []


def test_a_fresh_cursor_asks_from_the_moment_it_was_enabled() -> None:
    assert Watermark.starting(ENABLED).since == ENABLED
