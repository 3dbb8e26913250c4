"""Agents' sign-offs: the initials or first name a support agent ends a brand's reply with.

Brands answer from one shared account, so the sign-off is the only trace of which agent wrote a reply:
``^RR``, ``^Jools``, ``/AY``, ``-AD``, ``- Paige``, ``Thanks - Mike``. Trailing links and thread markers
(``1/2``) come after it as often as not and are looked past. A bare last word ("... underage sales.
Amanda") is not taken: too many replies end in an ordinary word for that to say who wrote them.
"""
from __future__ import annotations

import re

_TRAILING_LINK = re.compile(r"\s*(?:https?://|www\.)\S*\s*$", re.IGNORECASE)
_TRAILING_PART = re.compile(r"\s*\(?\d{1,2}/\d{1,2}\)?\s*$")  # "1/2", "(2/2)": a reply split over tweets
# "^JW #ACME", "^JW @jonas_weber": a hashtag or a handle after the sign-off
_TRAILING_TAG = re.compile(r"(?:\s+[#@][\w.]+)+\s*$")
_MARKED = (
    # ^RR, ^Jools: a caret before initials or a first name.
    re.compile(r"(?:^|[\s(])\^([A-Za-z][A-Za-z'-]{0,19})$"),
    # /AY, -AD: a slash or dash glued to capital initials (a slash after a space: never a URL path).
    re.compile(r"(?:^|\s)[/-]([A-Z]{2,4})$"),
    # - Paige, Thanks - Mike, TY - Chris: a dash and a space before a capitalised name or initials.
    re.compile(r"(?:^|\s)[-\u2013\u2014]\s+([A-Z][A-Za-z'-]{0,19})$"),
)
#: Words a reply may end with after a dash that sign no one: "... - Thanks".
_NOT_NAMES = frozenset({"thanks", "thank", "thx", "ty", "cheers", "regards", "best", "enjoy", "sorry",
                        "please", "hi", "hello", "dm", "us"})


def strip_trailers(text: str) -> str:
    """The text without the links and part markers ("1/2") that follow a reply's last words."""
    text = (text or "").strip()
    while True:
        shorter = _TRAILING_TAG.sub("", _TRAILING_PART.sub("", _TRAILING_LINK.sub("", text))).strip()
        shorter = _without_end_marks(shorter)
        if shorter == text:
            return text
        text = shorter


def _without_end_marks(text: str) -> str:
    """``text`` without the punctuation, emoji and brackets after its last word: "^JW." "^JW!" "(^JW)" "^JW 😊"."""
    end = len(text)
    while end and not (text[end - 1].isalnum() or text[end - 1] in "^/-'"):
        end -= 1
    return text[:end].rstrip()


def signoff(text: str) -> str | None:
    """Return the agent's sign-off ending ``text`` as written (``"RR"``, ``"Mike"``), or None."""
    body = strip_trailers(text)
    for pattern in _MARKED:
        match = pattern.search(body)
        if match and match.group(1).lower() not in _NOT_NAMES:
            return match.group(1)
    return None
