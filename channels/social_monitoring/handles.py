"""Handles: the @accounts a post names, the way every source and the channel read them."""
from __future__ import annotations

import re

# An @ not glued to a word or another @ (so no e-mail address), then a Twitter/Mastodon-style name.
_HANDLE = re.compile(r"(?<![\w@])@(\w{1,50})")


def handles_in(text: str | None) -> list[str]:
    """The @handles a text names, in order, each once, without the ``@``."""
    return list(dict.fromkeys(match.group(1) for match in _HANDLE.finditer(text or "")))


def named_handles(text: str | None, given=()) -> list[str]:
    """The handles a post names in its text (in order), then those its source listed; each once, any case."""
    seen, names = set(), []
    for handle in [*handles_in(text), *(h.lstrip("@") for h in given or ())]:
        if handle and handle.casefold() not in seen:
            seen.add(handle.casefold())
            names.append(handle)
    return names
