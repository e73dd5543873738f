"""What no JSON column stores, found and named by path (app.models.storable)."""

from __future__ import annotations

import pytest

from app.models import storable


@pytest.mark.parametrize(
    ("raw", "path", "what"),
    [
        (b'{"b": 1e400}', "body.b", "1e400 (beyond the range of a float)"),
        (b'{"b": -1E+999}', "body.b", "-1E+999 (beyond the range of a float)"),
        (b'{"a": NaN}', "body.a", "NaN"),
        (b'{"a": [1, Infinity]}', "body.a.1", "Infinity"),
        (b'{"a": -Infinity}', "body.a", "-Infinity"),
        (b'{"a": "\\ud800"}', "body.a", "text holding an unpaired surrogate (such as \\ud800)"),
        (b'{"a": {"b": "x\\u0000"}}', "body.a.b", "text holding a NUL character (\\u0000)"),
        (b'{"k\\u0000": 1}', "body.k\\u0000", "text holding a NUL character (\\u0000)"),
        (b"NaN", "body", "NaN"),
    ],
)
def test_loads_names_the_first_unstorable_value_by_its_path(
    raw: bytes, path: str, what: str
) -> None:
    with pytest.raises(storable.UnstorableError) as caught:
        storable.loads(raw, "body")

    assert caught.value.found == storable.Unstorable(path, what)
    assert str(caught.value) == f"`{path}` is {what}, which cannot be stored."


@pytest.mark.parametrize(
    "raw",
    [b'{"a": 1.5e308, "b": -2}', b'{"e": "\\ud83d\\ude00", "c": "\\u00e9"}', b'"\\\\u0000"'],
)
def test_storable_json_parses_as_usual(raw: bytes) -> None:
    import json

    assert storable.loads(raw) == json.loads(raw)


def test_malformed_json_is_a_value_error_not_an_unstorable_one() -> None:
    with pytest.raises(ValueError):
        storable.loads(b'{"a": ')


def test_dumps_refuses_python_values_no_column_stores_and_names_them() -> None:
    assert storable.dumps({"a": [1, "é", "😀"]}) == '{"a": [1, "\\u00e9", "\\ud83d\\ude00"]}'
    for value, path in [
        ({"out": {"value": float("nan")}}, "x.out.value"),
        ({"out": [float("-inf")]}, "x.out.0"),
        ({"t": "a\x00"}, "x.t"),
        ({"t": ("\udfff",)}, "x.t.0"),
    ]:
        with pytest.raises(storable.UnstorableError) as caught:
            storable.dumps(value, "x")
        assert caught.value.found.path == path


def test_sentences_name_the_subject() -> None:
    found = storable.Unstorable("body.value", "NaN")

    assert found.sentence("the step's output") == (
        "The step's output `body.value` is NaN, which cannot be stored."
    )
    assert storable.Unstorable("", "NaN").sentence() == "The value is NaN, which cannot be stored."


def test_clean_text_replaces_what_no_column_stores() -> None:
    assert storable.clean_text("a\x00b\ud800c?") == "a\ufffdb\ufffdc?"
    assert storable.clean_text("plain é 😀") == "plain é 😀"
