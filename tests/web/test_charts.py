"""Server-side SVG charts: gaps for missing periods, escaped labels, a reference line where it belongs, series
told apart without colour."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from web.charts import PALETTE, _labelled, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def _line_svg(markup) -> ET.Element:
    """The chart of a line chart's markup (a ``div`` of the SVG and its legend)."""
    root = ET.fromstring(str(markup))  # well-formed: labels and names are escaped
    assert root.tag == "div" and root.get("class") == "line-chart"
    return root.find(f"{SVG}svg")


def test_a_missing_value_breaks_the_line_and_labels_are_escaped():
    svg = line_chart(["w1", "w2", "w3", "<w4>"], {"Me & you": [50, None, 60, 70], "Team": [55, 56, 57, 58]},
                     label="Composite <by> week", low=0, high=100)
    root = _line_svg(svg)
    assert root.get("aria-label") == "Composite <by> week"
    lines = root.findall(f"{SVG}polyline")
    # "Me & you" is drawn as two runs (w1) and (w3, w4); the team as one run of four points
    assert sorted(len(line.get("points").split()) for line in lines) == [1, 2, 4]
    assert len(root.findall(f"{SVG}circle")) == 3  # the first series' points are circles,
    assert len(root.findall(f"{SVG}rect")) == 4  # the second's squares
    assert "&lt;w4&gt;" in str(svg)


def test_points_sit_at_their_values_on_the_axis():
    root = _line_svg(line_chart(["a", "b"], {"x": [0, 100]}, label="t", low=0, high=100, height=200))
    (line,) = root.findall(f"{SVG}polyline")
    (_, y_low), (_, y_high) = (map(float, point.split(",")) for point in line.get("points").split())
    assert (y_low, y_high) == (172.0, 12.0)  # the bottom and top of the plot area


def test_bars_scale_to_the_largest_and_the_reference_is_drawn_across():
    root = ET.fromstring(str(bar_chart([("1", 10), ("2", 5)], label="counts", reference=5, height=200)))
    heights = [float(rect.get("height")) for rect in root.findall(f"{SVG}rect")]
    assert heights == [160.0, 80.0]
    (reference,) = [line for line in root.findall(f"{SVG}line") if line.get("stroke-dasharray")]
    assert float(reference.get("y1")) == 92.0
    # A phone hides the bars' labels (plaudit.css): too many to fit, and a table beside the chart names them.
    assert [text.text for text in root.findall(f"{SVG}text") if text.get("class") == "bar-label"] == ["1", "2"]


def test_nothing_to_draw_draws_nothing():
    assert str(line_chart([], {}, label="empty")) == ""
    assert str(line_chart(["a"], {"x": [None]}, label="empty")) == ""
    assert str(bar_chart([], label="empty")) == ""
    assert re.match(r'<div class="line-chart"><svg', str(line_chart(["a"], {"x": [1]}, label="one point")))


def test_series_differ_by_dash_and_marker_and_their_legend_is_text():
    """Colour alone told the lines apart; the legend was 11px SVG text, about 6px on a phone."""
    markup = line_chart(["w1", "w2"], {"You": [50, 60], "Team mean": [55, 56], "Org <mean>": [52, 53]}, label="t")
    lines = _line_svg(markup).findall(f"{SVG}polyline")
    assert len({line.get("stroke-dasharray") for line in lines}) == 3  # solid (none), dashed, dotted
    assert len({line.get("stroke") for line in lines}) == 3
    legend = ET.fromstring(str(markup)).find("ul")
    assert legend.get("class") == "chart-legend"
    assert ["".join(item.itertext()).strip() for item in legend] == ["You", "Team mean", "Org <mean>"]
    assert all(item.find("svg").get("aria-hidden") == "true" for item in legend)  # the samples are decoration


def _contrast(colour: str, against: str = "#ffffff") -> float:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    high, low = sorted((luminance(colour), luminance(against)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_series_colour_stands_out_against_white():
    """The amber (#c58a24, 2.99:1) and the grey (#8a94a6, 3.06:1) were barely visible: 4.5:1 now."""
    assert min(_contrast(colour) for colour in PALETTE) >= 4.5


def test_a_histograms_axis_marks_whole_people():
    """Three people at most marked the middle of the axis 1.5: counts top out at an even number instead."""
    root = ET.fromstring(str(bar_chart([("0-10", 3), ("10-20", 1)], label="people", counts=True)))
    marks = [text.text for text in root.iter("{http://www.w3.org/2000/svg}text")][:3]
    assert marks == ["0", "2", "4"]
    plain = ET.fromstring(str(bar_chart([("0-10", 3), ("10-20", 1)], label="values")))
    assert [text.text for text in plain.iter("{http://www.w3.org/2000/svg}text")][:3] == ["0", "1.5", "3"]


def _bars(svg) -> list[tuple[float, float]]:
    """Each bar's top and bottom edge, in the SVG's y (downwards)."""
    return [(float(rect.get("y")), float(rect.get("y")) + float(rect.get("height")))
            for rect in ET.fromstring(str(svg)).findall(f"{SVG}rect")]


def _zero(svg) -> float:
    (line,) = [line for line in ET.fromstring(str(svg)).findall(f"{SVG}line") if line.get("class") == "zero"]
    return float(line.get("y1"))


def test_negative_bars_hang_below_the_zero_line():
    """An NPS by category at -5.9 and -9.5 was drawn 0 high on an axis from 0: the bars vanished."""
    svg = bar_chart([("Billing", 55.0), ("Refunds", -5.9), ("Shipping", -9.5)], label="NPS", reference=12.5)
    (billing_top, billing_bottom), *negatives = _bars(svg)
    zero = _zero(svg)
    assert billing_bottom == zero and billing_top < zero  # the positive stands on zero
    for top, bottom in negatives:
        assert top == zero and bottom > zero  # the negatives hang from it, with a height
    refunds, shipping = (bottom - top for top, bottom in negatives)
    assert 0 < refunds < shipping < billing_bottom - billing_top  # heights are to scale
    assert abs(shipping / refunds - 9.5 / 5.9) < 0.05
    # The axis covers the range in round steps, zero among them, and the lowest bar stays inside the plot.
    marks = [text.text for text in ET.fromstring(str(svg)).iter(f"{SVG}text")][:5]
    assert marks == ["-20", "0", "20", "40", "60"]
    assert max(bottom for _, bottom in _bars(svg)) <= 200 - 28


def test_only_negative_bars_hang_from_zero_at_the_top():
    svg = bar_chart([("a", -40.0), ("b", -10.0)], label="all below")
    zero = _zero(svg)
    assert zero == 12.0  # the top of the plot area
    (a_top, a_bottom), (b_top, b_bottom) = _bars(svg)
    assert a_top == b_top == zero and a_bottom == 172.0 and b_bottom - b_top == 40.0


def test_positive_bars_still_stand_on_the_floor():
    svg = bar_chart([("a", 62.5), ("b", 37.0)], label="CSAT", reference=50)
    assert [bottom for _, bottom in _bars(svg)] == [172.0, 172.0]
    assert not [line for line in ET.fromstring(str(svg)).findall(f"{SVG}line") if line.get("class") == "zero"]


def test_the_bottom_labels_are_evenly_spaced_back_from_the_last_period():
    """Eight weeks labelled 0, 2, 4, 6 and 7: '9 Nov' and '16 Nov' overlapped on a phone. Then 0, 2, 4 and 7: the
    gap before the latest week was wider than the others."""
    labels = [f"{day} Nov" for day in range(1, 9)]
    svg = str(line_chart(labels, {"You": [float(v) for v in range(8)]}, label="trend"))
    shown = re.findall(r'text-anchor="(?:start|middle|end)">(\d+ Nov)</text>', svg)
    assert shown == ["2 Nov", "4 Nov", "6 Nov", "8 Nov"]
    assert _labelled(7) == [0, 2, 4, 6] and _labelled(12) == [1, 3, 5, 7, 9, 11] and _labelled(3) == [0, 1, 2]
    assert _labelled(1) == [0] and _labelled(13) == [0, 3, 6, 9, 12]


def test_on_a_phone_every_other_label_is_left_out_back_from_the_last():
    """Drawn twice as large on a phone, neighbouring labels ran into each other ("2 Nod6 Nov")."""
    labels = [f"{day} Nov" for day in range(1, 13)]
    svg = str(line_chart(labels, {"Team": [float(v) for v in range(12)]}, label="trend"))
    shown = re.findall(r'text-anchor="(?:start|middle|end)">(\d+ Nov)</text>', svg)
    assert shown == ["2 Nov", "4 Nov", "6 Nov", "8 Nov", "10 Nov", "12 Nov"]
    wide_only = re.findall(r'<text class="wide-only"[^>]*>(\d+ Nov)</text>', svg)
    assert wide_only == ["2 Nov", "6 Nov", "10 Nov"]  # a phone keeps 4, 8 and 12 Nov: the last and every other


def test_a_trend_of_minutes_or_ratings_starts_its_axis_at_zero():
    """Reply times 23 to 40: the axis began at 23, and the best week lay on it as if there were none."""
    from web.pages.report import _charts

    trend = {"labels": ["2 Nov", "9 Nov"], "composite": {"you": [60.0, 70.0], "team": [65.0, 66.0], "org": [64.0, 64.0]},
             "metrics": {"social_reply_time": {"display": "minutes", "title": "Reply time", "you": [23.0, 40.0],
                                               "team": [30.0, None], "org": [31.0, 33.0]},
                         "nps": {"display": "score", "title": "NPS", "you": [-20.0, 10.0], "team": [0.0, 0.0],
                                 "org": [5.0, 5.0]}}}
    charts = _charts({"trend": trend, "run": {"kind": "week"}})
    marks = lambda svg: [float(m) for m in re.findall(r'text-anchor="end">(-?[\d.]+)</text>', str(svg))]
    assert marks(charts["metrics"]["social_reply_time"])[0] == 0
    assert marks(charts["metrics"]["nps"])[0] == -100  # a score keeps its own axis


def test_bar_labels_too_long_for_their_bars_are_thinned_not_overlapped():
    """NPS's ten bins read "-100 to -80-80 to -60...": every one was labelled, each wider than its bar."""
    signed = [(f"{low} to {low + 20}", 1) for low in range(-100, 100, 20)]
    labels = [t.text for t in ET.fromstring(str(bar_chart(signed, label="NPS"))).iter()
              if t.get("class") == "bar-label"]
    assert labels == ["-100 to -80", "-60 to -40", "-20 to 0", "20 to 40", "60 to 80"]
    short = [(str(n), 1) for n in range(10)]
    assert len([t for t in ET.fromstring(str(bar_chart(short, label="n"))).iter()
                if t.get("class") == "bar-label"]) == 10


def test_one_long_category_name_is_cut_to_its_bar_not_thinning_the_others():
    bars = [("Account and subscription management", 3), ("Billing", 2), ("Login", 1), ("Refunds", 2), ("Other", 1)]
    labels = [t.text for t in ET.fromstring(str(bar_chart(bars, label="CSAT"))).iter() if t.get("class") == "bar-label"]
    assert labels[1:] == ["Billing", "Login", "Refunds", "Other"]
    assert labels[0].endswith("…") and len(labels[0]) * 6.5 <= (560 - 52 - 12) / 5
