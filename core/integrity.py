"""The integrity-check contract: objections to stored items (which quarantine them) or to an employee's period."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from marshmallow import Schema


class IntegrityCheck:
    """Base class for an integrity check plugin.

    :meth:`inspect` sees each batch of newly stored (or changed) items at once, so a check can answer with
    one query rather than one per item. :meth:`inspect_period` looks at an employee's period as a whole,
    when an appraisal run computes it. A check implements either or both.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    #: marshmallow schema for the check's parameters, as HR sets them in the guideline's ``integrity`` section.
    params_schema: ClassVar[type[Schema] | None] = None

    def inspect(self, session, feedback: Sequence, params: Mapping[str, Any]) -> Iterable[tuple[int, str]]:
        """Return ``(feedback_id, reason)`` for each item that must be quarantined: an item of ``feedback``, or
        a stored one whose standing they change (a stored answer that an earlier one, arriving late, makes a
        duplicate)."""
        return ()

    def inspect_period(self, session, start: datetime, end: datetime,
                       params: Mapping[str, Any]) -> Iterable[tuple[int, str]]:
        """Return ``(employee_id, reason)`` for each employee whose period [start, end) needs HR's review."""
        return ()

    def load_params(self, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate ``raw`` against :attr:`params_schema` and fill in defaults.

        :raises marshmallow.ValidationError: naming the offending parameter.
        """
        if self.params_schema is None:
            return dict(raw or {})
        return self.params_schema().load(dict(raw or {}))

    def __repr__(self) -> str:
        return f"<IntegrityCheck {self.name}>"
