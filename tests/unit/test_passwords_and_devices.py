"""Password rules (passwords.py) and the device names of the sessions list (devices.py)."""

from __future__ import annotations

import pytest

from app.services.accounts.devices import describe
from app.services.accounts.passwords import password_problem
from tests.conftest import PASSWORD


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaa", 'Repeats like "aaa" are easy to guess.'),
        ("password123!", "This is similar to a commonly used password."),
        ("1q2w3e4r5t", "This is a very common password."),
        ("abcdefghij", 'Sequences like "abc" or "6543" are easy to guess.'),
        ("alice.example2024", "built on your email, your name or this site's name"),
        ("stepline2024", "built on your email, your name or this site's name"),
        ("short", "at least 10 characters"),
        ("x" * 201, "at most 200 characters"),
    ],
)
def test_easy_passwords_are_refused_with_a_reason(password: str, reason: str) -> None:
    problem = password_problem(password, email="alice.example@example.com", name="Alice")

    assert problem is not None and reason in problem


@pytest.mark.parametrize(
    "password", [PASSWORD, "a long password", "velvet lantern orbit", "Tr0ub4dor&3x!"]
)
def test_hard_passwords_pass(password: str) -> None:
    assert password_problem(password, email="alice@example.com") is None


def test_every_one_of_the_most_common_passwords_of_ten_characters_is_refused() -> None:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    common = [p for p in FREQUENCY_LISTS["passwords"][:10_000] if len(p) >= 10]

    assert len(common) > 250
    assert [p for p in common if password_problem(p) is None] == []


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "Chrome on Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox on Linux",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/18.1 Safari/605.1.15",
            "Safari on macOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1",
            "Chrome on iPhone",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        ("curl/8.5.0", "curl"),
        ("", "Unknown browser"),
        ("Mozilla/5.0", "Unknown browser"),
    ],
)
def test_a_user_agent_in_a_few_words(user_agent: str, device: str) -> None:
    assert describe(user_agent) == device
