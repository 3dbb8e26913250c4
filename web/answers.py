"""How a feedback item's value reads on a page: on its scale, as a sentiment, or as a reply time."""
from __future__ import annotations

from markupsafe import Markup, escape


def _number(value: float) -> str:
    # Four significant figures, but never an exponent: 12,345 stays a number a person reads.
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def minutes(value: float) -> str:
    """A time in minutes as people say it: "4 min", "1 h 05 min", "2 d 3 h"."""
    whole = round(value)
    if whole < 60:
        return f"{value:.1f} min" if value < 10 and whole != value else f"{whole} min"
    hours, mins = divmod(whole, 60)
    if hours < 48:
        return f"{hours} h {mins:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


#: Kinds whose value is a time in minutes, and what the time was spent on.
DURATIONS = {"social_reply": "to reply", "first_response_time": "to first reply", "resolution_time": "to resolve"}


def answer(value: float | None, kind: str | None = None, scale_min: float | None = None,
           scale_max: float | None = None, *, still_open: bool = False) -> Markup:
    """The value of an item with what it is measured on, muted: "4 of 5", "+0.62 sentiment", "12 min".

    :param still_open: the item is a ticket's timing kept while the ticket is open past its target: its minutes
        are how long it had been open at the last look, not how long it took.
    """
    if value is None:
        return Markup("–")
    if kind in DURATIONS and still_open:
        return Markup('<span class="muted">still open after</span> {}').format(minutes(value))
    if kind in DURATIONS:  # minutes, which a bare 397.4 did not say
        return Markup('{} <span class="muted">{}</span>').format(minutes(value), DURATIONS[kind])
    if scale_min is not None and scale_min < 0:  # a signed scale: sentiment, -1 to 1
        return Markup('{} <span class="muted">sentiment</span>').format(f"{value:+.2f}")
    if scale_max is None:
        return escape(_number(value))
    if scale_min in (0, 1):
        return Markup('{} <span class="muted">of {}</span>').format(_number(value), _number(scale_max))
    return Markup('{} <span class="muted">of {} to {}</span>').format(
        _number(value), _number(scale_min), _number(scale_max))


def init_app(app) -> None:
    app.add_template_global(answer)
