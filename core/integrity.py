"""The integrity-check contract: objections to newly stored items, which quarantine them."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar


class IntegrityCheck:
    """Base class for an integrity check plugin.

    :meth:`inspect` sees each batch of newly stored items at once, so a check can answer with one query
    rather than one per item.
    """

    name: ClassVar[str]
    title: ClassVar[str]

    def inspect(self, session, feedback: Sequence) -> Iterable[tuple[int, str]]:
        """Return ``(feedback_id, reason)`` for each item that must be quarantined."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<IntegrityCheck {self.name}>"
