"""What makes a password acceptable: long enough and hard to guess.

Guessability is zxcvbn's estimate (Dropbox's algorithm, its Python port): it knows the 30,000
most common passwords, names, English words, keyboard walks, repeats, sequences and dates, and
the user's own email and name. A password must reach `MIN_SCORE` (about 10^8 guesses), so the
10,000 most common passwords and their easy variants (`password123!`) are all refused; the
reason shown is zxcvbn's feedback in its own words.
"""

from __future__ import annotations

from typing import Any

from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
# zxcvbn's score 3: "safely unguessable", at least 10^8 guesses.
MIN_SCORE = 3
# zxcvbn's matching grows faster than linearly with the length; a password this long that is
# weak in its first characters is weak enough to refuse.
CHECKED_PREFIX = 100
# Words of this site that people put in passwords here.
SITE_WORDS = ("stepline", "workflow", "workflows")


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why `password` is refused, in a sentence for the form; None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use a password of at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use a password of at most {MAX_PASSWORD_LENGTH} characters."
    own_words = [*SITE_WORDS, email, email.partition("@")[0], *name.split()]
    result = zxcvbn(password[:CHECKED_PREFIX], user_inputs=[w for w in own_words if w])
    if result["score"] >= MIN_SCORE:
        return None
    return f"{_reason(result)} {_ADVICE}"


_ADVICE = "Try a few uncommon words together, or a password manager's suggestion."


def _reason(result: dict[str, Any]) -> str:
    """zxcvbn's warning as a sentence, or what it matched when it gives none."""
    warning = str(result["feedback"].get("warning") or "").strip()
    if warning:
        return warning if warning.endswith(".") else warning + "."
    if any(m.get("dictionary_name") == "user_inputs" for m in result.get("sequence", ())):
        return "This password is built on your email, your name or this site's name."
    return "This password is too easy to guess."
