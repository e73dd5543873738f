"""A browser's User-Agent in a few words ("Firefox on Linux"), for the sessions list.

People recognise their devices by browser and system; the version numbers and the rest of the
header help nobody there. Unknown agents are shown as what they are ("curl", or "Unknown
browser").
"""

from __future__ import annotations

import re

# Order matters: Edge and Opera say "Chrome", Chrome says "Safari", iOS says "Mac OS X".
_BROWSERS = (
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("Safari", re.compile(r"Safari/")),
)
_SYSTEMS = (
    ("iPhone", re.compile(r"iPhone")),
    ("iPad", re.compile(r"iPad")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
)
_TOOL = re.compile(r"^([A-Za-z][\w.-]{0,30})/[\w.]+")
MAX_LENGTH = 120


def describe(user_agent: str) -> str:
    """ "Browser on system", the browser or system alone, a tool's name, or "Unknown browser"."""
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), "")
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), "")
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system
    tool = _TOOL.match(user_agent)
    if tool and tool.group(1) != "Mozilla":
        return tool.group(1)[:MAX_LENGTH]
    return "Unknown browser"
