"""Charts drawn on the server as inline SVG: trends (lines) and distributions (bars). No script needed.

Each chart carries a ``<title>`` and an ``aria-label`` describing it, so it reads in a screen reader too; the
pages put the numbers beside it in a table. The lines of a trend differ by dash and marker as well as by colour,
and every colour stands out at least 4.5:1 against white, so the series can be told apart without seeing colour.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

#: Colours of successive series: the accent first, then a grey, an amber, a green and a red, each 4.5:1 or more
#: against white (WCAG 1.4.11 asks 3:1 of a graph's lines).
PALETTE = ("#2457c5", "#667085", "#9a6a12", "#067647", "#b42318")
#: Dash patterns of successive series (solid, dashed, dotted, dash-dot, long dash): no line is told by colour alone.
DASHES = ("", "7 4", "2 3", "9 3 2 3", "14 4")
#: Marker shapes of successive series, for the same reason.
MARKERS = ("circle", "square", "triangle", "diamond", "cross")
# Room on the left for a mark such as "-100" at the larger text a phone gets (plaudit.css).
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 52, 12, 12, 28
#: The width a bar label's character takes, in the chart's units, at the labels' size (plaudit.css .bar-label).
_LABEL_CHAR_WIDTH = 6.5


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def _frame(width: int, height: int, label: str, body: list[str]) -> Markup:
    text = escape(label)
    return Markup(f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                  f'role="img" aria-label="{text}" xmlns="http://www.w3.org/2000/svg"><title>{text}</title>'
                  + "".join(body) + "</svg>")


def _range(values: Sequence[float], low: float | None, high: float | None) -> tuple[float, float]:
    low = min(values) if low is None else low
    high = max(values) if high is None else high
    if high <= low:  # a flat series still needs a band to sit in
        low, high = low - 1, high + 1
    return low, high


def _y_axis(low, high, top, bottom, width, marks: Sequence[float] | None = None) -> list[str]:
    """Lines across at ``marks`` (the bottom, middle and top unless given), each labelled on the left."""
    parts = []
    for value in marks if marks is not None else [low + (high - low) * step / 2 for step in range(3)]:
        y = bottom - (bottom - top) * (value - low) / (high - low)
        parts.append(f'<line class="axis" x1="{_PAD_LEFT}" x2="{width - _PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text x="{_PAD_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(value)}</text>')
    return parts


def _marker(shape: str, cx: float, cy: float, colour: str, size: float = 4.5) -> str:
    """A point of a series, drawn as its shape."""
    if shape == "circle":
        return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{size - 0.5:.1f}" fill="{colour}"/>'
    if shape == "square":
        return (f'<rect x="{cx - size:.1f}" y="{cy - size:.1f}" width="{2 * size:.1f}" height="{2 * size:.1f}" '
                f'fill="{colour}"/>')
    corners = {"triangle": [(0, -1.2), (1.1, 0.9), (-1.1, 0.9)],
               "diamond": [(0, -1.3), (1.3, 0), (0, 1.3), (-1.3, 0)]}
    if shape in corners:
        points = " ".join(f"{cx + dx * size:.1f},{cy + dy * size:.1f}" for dx, dy in corners[shape])
        return f'<polygon points="{points}" fill="{colour}"/>'
    return (f'<path d="M{cx - size:.1f},{cy - size:.1f}L{cx + size:.1f},{cy + size:.1f}M{cx - size:.1f},'
            f'{cy + size:.1f}L{cx + size:.1f},{cy - size:.1f}" stroke="{colour}" stroke-width="2"/>')


def _stroke(index: int) -> tuple[str, str, str]:
    """The colour, the dash attribute and the marker shape of the ``index``-th series."""
    colour, dash = PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)]
    return colour, f' stroke-dasharray="{dash}"' if dash else "", MARKERS[index % len(MARKERS)]


def _legend(names) -> str:
    """The series' names in HTML beside the chart, each after a sample of its line: real text, which wraps and
    stays readable however small the chart is drawn."""
    items = []
    for index, name in enumerate(names):
        colour, dash, shape = _stroke(index)
        sample = (f'<svg class="swatch" viewBox="0 0 28 12" width="28" height="12" aria-hidden="true" '
                  f'focusable="false"><line x1="1" x2="27" y1="6" y2="6" stroke="{colour}" stroke-width="2"{dash}/>'
                  f'{_marker(shape, 14, 6, colour, 3.5)}</svg>')
        items.append(f"<li>{sample} {escape(name)}</li>")
    return '<ul class="chart-legend">' + "".join(items) + "</ul>"


WIDE_ONLY = ' class="wide-only"'


def line_chart(labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *, label: str,
               low: float | None = None, high: float | None = None, width: int = 560, height: int = 200
               ) -> Markup:
    """Lines over ``labels`` (periods, oldest first); a None value leaves a gap in its line.

    The SVG is followed by its legend, a list of the series (the chart and its legend are wrapped in a ``div``).
    """
    values = [v for points in series.values() for v in points if v is not None]
    if not labels or not values:
        return Markup("")
    low, high = _range(values, low, high)
    top, bottom = _PAD_TOP, height - _PAD_BOTTOM
    span = max(len(labels) - 1, 1)
    x = lambda i: _PAD_LEFT + (width - _PAD_LEFT - _PAD_RIGHT) * (i / span if len(labels) > 1 else 0.5)
    y = lambda v: bottom - (bottom - top) * (v - low) / (high - low)
    body = _y_axis(low, high, top, bottom, width)
    last = len(labels) - 1
    # The end labels are anchored inwards, so the first and last periods are not cut off at the edges.
    anchor = lambda i: "start" if i == 0 and last else "end" if i == last and last else "middle"
    labelled = _labelled(len(labels))
    # A phone draws the text twice as large (plaudit.css): every other label, back from the last, so two do
    # not run into each other ("2 Nod6 Nov").
    on_phone = set(labelled[::-1][::2])
    body += [f'<text{"" if i in on_phone else WIDE_ONLY} x="{x(i):.1f}" y="{height - 8}" text-anchor="{anchor(i)}">'
             f'{escape(labels[i])}</text>' for i in labelled]
    for index, (name, points) in enumerate(series.items()):
        colour, dash, shape = _stroke(index)
        runs, current = [], []
        for i, value in enumerate(points):
            if value is None:
                runs, current = runs + [current] if current else runs, []
            else:
                current.append((x(i), y(value)))
        runs += [current] if current else []
        for run in runs:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{path}">'
                        f'<title>{escape(name)}</title></polyline>')
            body += [_marker(shape, px, py, colour) for px, py in run]
    return Markup('<div class="line-chart">') + _frame(width, height, label, body) + Markup(
        _legend(series) + "</div>")


def _labelled(count: int, most: int = 6) -> list[int]:
    """Which of ``count`` periods get a label along the bottom: at most ``most``, evenly spaced, counted back
    from the last (the period the page is about), so the step before it is no wider than the others."""
    every = max(1, -(-count // most))
    return list(range(count - 1, -1, -every))[::-1]


def _round_marks(low: float, high: float, most: int = 5) -> list[float]:
    """About ``most`` marks at a round step (1, 2, 2.5 or 5 times a power of ten), from at or below ``low`` to
    at or above ``high``: zero, a multiple of every step, is always one of them."""
    rough = (high - low) / (most - 1)
    power = 10 ** math.floor(math.log10(rough))
    step = next(factor * power for factor in (1, 2, 2.5, 5, 10) if factor * power >= rough * (1 - 1e-9))
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [k * step for k in range(first, last + 1)]


def bar_chart(bars: Sequence[tuple[str, float]], *, label: str, reference: float | None = None,
              low: float | None = None, high: float | None = None, counts: bool = False, width: int = 560,
              height: int = 200) -> Markup:
    """Vertical bars from zero, one per (label, value): a histogram's bins or a value per category.

    Bars of positive values stand on zero, those of negative ones (an NPS, a difference) hang down from it. The
    axis covers the values, the reference and zero unless ``low`` or ``high`` say otherwise; when it goes below
    zero its marks fall at a round step with zero among them, and a solid line marks zero. ``reference`` draws
    a dashed line across, such as the organisation's mean. With ``counts`` (a histogram's people) the axis tops
    out at an even number, so its middle mark is a whole one: no half a person.
    """
    if not bars:
        return Markup("")
    values = [value for _, value in bars] + ([reference] if reference is not None else [])
    marks = None
    if low is None and high is None and min(values) < 0:
        marks = _round_marks(min(values + [0.0]), max(values + [0.0]))
        low, high = marks[0], marks[-1]
    low = min(values + [0.0]) if low is None else low
    high = max(values + [0.0]) if high is None else high
    if high <= low:  # nothing but zeros still needs a band to sit in
        high = low + 1
    if counts:
        high = max(2, 2 * math.ceil(high / 2))
    top, bottom = _PAD_TOP, height - _PAD_BOTTOM
    slot = (width - _PAD_LEFT - _PAD_RIGHT) / len(bars)
    # Values outside an axis given by the caller are drawn to its edge, never beyond the plot.
    y = lambda v: min(max(bottom - (bottom - top) * (v - low) / (high - low), top), bottom)
    zero = y(0)
    body = _y_axis(low, high, top, bottom, width, marks)
    # Every bar named while the names fit under their bars: long ones ("-100 to -80") every other or third. One
    # long category among short ones is cut to the room it has, not left to spill over its neighbours.
    typical = sorted(len(name) for name, _ in bars)[len(bars) // 2]
    every = max(1, len(bars) // 10, math.ceil(typical * _LABEL_CHAR_WIDTH / slot))
    room = max(3, int(slot * every / _LABEL_CHAR_WIDTH))
    for i, (name, value) in enumerate(bars):
        left = _PAD_LEFT + slot * i + slot * 0.1
        body.append(f'<rect x="{left:.1f}" y="{min(y(value), zero):.1f}" width="{slot * 0.8:.1f}" '
                    f'height="{abs(zero - y(value)):.1f}" fill="{PALETTE[0]}">'
                    f'<title>{escape(name)}: {_fmt(value)}</title></rect>')
        if i % every == 0:
            # A phone hides these (they would overlap); the table beside each bar chart names its bars.
            body.append(f'<text class="bar-label" x="{left + slot * 0.4:.1f}" y="{height - 8}" '
                        f'text-anchor="middle">{escape(name if len(name) <= room else name[:room - 1] + "…")}</text>')
    if low < 0:
        body.append(f'<line class="zero" x1="{_PAD_LEFT}" x2="{width - _PAD_RIGHT}" y1="{zero:.1f}" '
                    f'y2="{zero:.1f}" stroke="#475467"/>')
    if reference is not None:
        body.append(f'<line x1="{_PAD_LEFT}" x2="{width - _PAD_RIGHT}" y1="{y(reference):.1f}" '
                    f'y2="{y(reference):.1f}" stroke="{PALETTE[4]}" stroke-dasharray="4 3"/>')
    return _frame(width, height, label, body)


def sparkline(values, *, label: str, width: int = 96, height: int = 28) -> Markup:
    """A compact line of one employee's composites (0-100), its last point marked; gaps where none."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if not points:
        return Markup("")
    step = (width - 8) / max(len(values) - 1, 1)
    xy = [(4 + i * step, height - 4 - (height - 8) * v / 100) for i, v in points]
    text = escape(label)
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    return Markup(f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                  f'role="img" aria-label="{text}" xmlns="http://www.w3.org/2000/svg"><title>{text}</title>'
                  f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="1.5" points="{line}"/>'
                  f'<circle cx="{xy[-1][0]:.1f}" cy="{xy[-1][1]:.1f}" r="2.5" fill="{PALETTE[0]}"/></svg>')
