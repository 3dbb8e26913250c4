"""Query and body arguments shared by the API's resources: ids, days, slugs, period and score filters.

Every bound here is also a bound of the database or of Python's dates: an id beyond a 32-bit integer or
the last day of year 9999 would fail deep in a query, so it is refused up front with 422 naming the field.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from appraisal import periods
from core.local_time import midnight
from core.storable_text import unstorable_text
from web.arguments import MAX_ID

FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9999, 12, 30)
SLUG = r"^[a-z0-9_]{1,50}$"


# Field factories, named like the marshmallow fields they configure.
def Id(**kwargs) -> fields.Integer:
    return fields.Integer(validate=validate.Range(1, MAX_ID), **kwargs)


def Day(**kwargs) -> fields.Date:
    return fields.Date(validate=validate.Range(FIRST_DAY, LAST_DAY), **kwargs)


def PeriodDay(**kwargs) -> fields.Date:
    """A day of a period (a run's, a target's): bounded as periods are, so the schema says what is refused."""
    return fields.Date(validate=validate.Range(periods.FIRST_DAY, periods.LAST_DAY,
                                               error=f"give a day from {periods.FIRST_DAY} to {periods.LAST_DAY}"),
                       **kwargs)


class Flag(fields.Boolean):
    """A JSON body's true or false, nothing else: marshmallow's Boolean reads "yes", "on" or 1 as true, and an
    approval is too consequential to take from anything but ``true``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def Slug(**kwargs) -> fields.String:
    return fields.String(validate=validate.Regexp(SLUG, error="use lower-case letters, digits and _ (1-50)"),
                         **kwargs)


def Text(length: int, **kwargs) -> fields.String:
    """Free text up to ``length`` characters, without what no database stores (core.storable_text)."""
    return fields.String(validate=[validate.Length(max=length), _storable], **kwargs)


def _storable(value: str) -> None:
    for _where, problem in unstorable_text(value):
        raise ValidationError(problem)


def day_after(day: date) -> datetime:
    """The organisation's midnight ending ``day``: the exclusive bound of a period whose last day is ``day``."""
    return midnight(day + timedelta(days=1))


class ListArguments(Schema):
    """What every list takes besides its filters (``page`` and ``page_size`` come from the pagination)."""

    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]), metadata={
        "description": "`csv` answers every row matching the filters (not one page) as CSV with a header "
                       "row; so does `Accept: text/csv`"})


class PeriodArguments(ListArguments):
    """A ``from``/``to`` range of days, both included."""

    first = Day(data_key="from", metadata={"description": "first day, included (YYYY-MM-DD, in the organisation's time zone)"})
    last = Day(data_key="to", metadata={"description": "last day, included (YYYY-MM-DD, in the organisation's time zone)"})

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if data.get("first") and data.get("last") and data["last"] < data["first"]:
            raise ValidationError("must not be before 'from'", field_name="to")
