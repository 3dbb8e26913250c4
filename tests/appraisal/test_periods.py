"""Periods: what may be asked for, and what was stored before those checks still reads back."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from appraisal.periods import (
    month_of,
    period_between,
    quarter_of,
    short_label,
    stored_period,
    week_of,
)


def test_the_period_before_the_first_month_or_quarter_allowed_is_still_worked_out():
    """A run of January 1900 compares with December 1899: refusing that day failed the run."""
    assert month_of(date(1900, 1, 15)).previous().start == datetime(1899, 12, 1, tzinfo=UTC)
    assert quarter_of(date(1900, 2, 1)).previous().start == datetime(1899, 10, 1, tzinfo=UTC)


def test_a_period_stored_before_the_checks_reads_back_as_it_was():
    """A target of 2026 to 2099 was accepted before periods were bounded to ten years; its page must still open."""
    long = stored_period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    assert (long.kind, long.label) == ("custom", "custom 2026-01-01 to 2099-12-31")
    with pytest.raises(ValueError, match="longer than a period may be"):
        period_between(date(2026, 1, 1), date(2099, 12, 31))
    assert stored_period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)).kind == "month"
    late = stored_period(datetime(9999, 12, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC))
    assert late.kind == "custom"  # its month would end in year 10000: not a month, and no overflow


def test_periods_are_counted_in_words():
    """A trend over one quarter read "the last 1 quarters", and over custom periods "the last 2 customs"."""
    from appraisal.periods import counted

    assert [counted(1, "quarter"), counted(3, "week"), counted(2, "custom")] == [
        "1 quarter", "3 weeks", "2 custom periods"]


def test_a_chart_names_a_month_as_a_month_and_a_week_by_its_first_day():
    assert short_label("month", month_of(date(2026, 9, 10)).start) == "Sep 2026"  # it read "01 Sep", as a day
    assert short_label("quarter", quarter_of(date(2026, 8, 1)).start) == "Q3 2026"
    assert short_label("week", week_of(date(2026, 10, 7)).start) == "5 Oct"  # as the reports write it, not "05 Oct"
