"""The customer's survey page: what a screen reader reads, and borders and focus anyone can see."""
from __future__ import annotations

import re
from pathlib import Path

from .deliveries import generic_integration, post, solved_ticket_delivery

CSS = Path(__file__).parents[3] / "web" / "static" / "survey.css"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast_with_white(hex_colour: str) -> float:
    return 1.05 / (_luminance(hex_colour) + 0.05)


def test_each_choice_is_named_with_the_words_of_its_end(client, session):
    """A screen reader read 'radio 5', then 'Very unsatisfied Very satisfied' apart from any choice."""
    integration = generic_integration(session)
    [invited] = post(client, integration, solved_ticket_delivery(requester=None)).get_json()["invitations"]
    html = client.get(invited["url"].split("127.0.0.1:5000")[1]).get_data(as_text=True)
    names = [re.sub(r"<[^>]+>", "", label) for label in re.findall(r'value="\d"\s*>(.*?)</label>', html, re.DOTALL)]
    assert [" ".join(n.split()) for n in names] == ["1: Very unsatisfied", "2", "3", "4", "5: Very satisfied"]
    assert '<div class="ends" aria-hidden="true">' in html  # shown, not read a second time


def test_borders_and_the_focus_ring_stand_out_from_white():
    """WCAG 1.4.11 asks 3:1 of what shows a control and its focus: the choices' border was 1.8:1, the ring 2.1:1."""
    css = CSS.read_text()
    border = re.search(r"\.scale span \{[^}]*border: 1px solid (#[0-9a-f]{6})", css).group(1)
    ring = re.search(r"\.scale input:focus-visible \+ span \{ outline: 3px solid (#[0-9a-f]{6})", css).group(1)
    assert _contrast_with_white(border) >= 3 and _contrast_with_white(ring) >= 3
