"""Server-side SVG charts: gaps for missing periods, escaped labels, a reference line where it belongs."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from web.charts import bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_a_missing_value_breaks_the_line_and_labels_are_escaped():
    svg = line_chart(["w1", "w2", "w3", "<w4>"], {"Me & you": [50, None, 60, 70], "Team": [55, 56, 57, 58]},
                     label="Composite <by> week", low=0, high=100)
    root = ET.fromstring(str(svg))  # well-formed: labels and names are escaped
    assert root.get("aria-label") == "Composite <by> week"
    lines = root.findall(f"{SVG}polyline")
    # "Me & you" is drawn as two runs (w1) and (w3, w4); the team as one run of four points
    assert sorted(len(line.get("points").split()) for line in lines) == [1, 2, 4]
    assert len(root.findall(f"{SVG}circle")) == 7
    assert "&lt;w4&gt;" in str(svg)


def test_points_sit_at_their_values_on_the_axis():
    root = ET.fromstring(str(line_chart(["a", "b"], {"x": [0, 100]}, label="t", low=0, high=100, height=200)))
    (line,) = root.findall(f"{SVG}polyline")
    (_, y_low), (_, y_high) = (map(float, point.split(",")) for point in line.get("points").split())
    assert (y_low, y_high) == (172.0, 12.0)  # the bottom and top of the plot area


def test_bars_scale_to_the_largest_and_the_reference_is_drawn_across():
    root = ET.fromstring(str(bar_chart([("1", 10), ("2", 5)], label="counts", reference=5, height=200)))
    heights = [float(rect.get("height")) for rect in root.findall(f"{SVG}rect")]
    assert heights == [160.0, 80.0]
    (reference,) = [line for line in root.findall(f"{SVG}line") if line.get("stroke-dasharray")]
    assert float(reference.get("y1")) == 92.0


def test_nothing_to_draw_draws_nothing():
    assert str(line_chart([], {}, label="empty")) == ""
    assert str(line_chart(["a"], {"x": [None]}, label="empty")) == ""
    assert str(bar_chart([], label="empty")) == ""
    assert re.match(r"<svg", str(line_chart(["a"], {"x": [1]}, label="one point")))


def test_a_histograms_axis_marks_whole_people():
    """Three people at most marked the middle of the axis 1.5: counts top out at an even number instead."""
    root = ET.fromstring(str(bar_chart([("0-10", 3), ("10-20", 1)], label="people", counts=True)))
    marks = [text.text for text in root.iter("{http://www.w3.org/2000/svg}text")][:3]
    assert marks == ["0", "2", "4"]
    plain = ET.fromstring(str(bar_chart([("0-10", 3), ("10-20", 1)], label="values")))
    assert [text.text for text in plain.iter("{http://www.w3.org/2000/svg}text")][:3] == ["0", "1.5", "3"]
