"""marshmallow fields for channels' payload schemas, where marshmallow's own would let a wrong value through."""
from __future__ import annotations

from marshmallow import fields


class WholeNumber(fields.Integer):
    """An integer that may arrive as 4, 4.0 or "4", but never silently truncated from 4.5.

    marshmallow's ``Integer`` stores a 4.5 rating as 4 without a word; ``strict=True`` refuses "4" and 4.0,
    which spreadsheets and helpdesks send.
    """

    default_error_messages = {"fraction": "must be a whole number"}  # noqa: RUF012 -- marshmallow merges it

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float | str) and not isinstance(value, bool):
            try:
                number = float(value)
            except ValueError:
                raise self.make_error("invalid") from None
            if not number.is_integer():
                raise self.make_error("fraction")
            value = int(number)
        return super()._deserialize(value, attr, data, **kwargs)
