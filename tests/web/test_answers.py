"""How an item's value reads on the pages."""
from __future__ import annotations

import pytest

from web.answers import answer, minutes


@pytest.mark.parametrize("value, kind, low, high, shown", [
    (None, "csat", 1, 5, "–"),
    (4, "csat", 1, 5, '4 <span class="muted">of 5</span>'),
    (9, "nps", 0, 10, '9 <span class="muted">of 10</span>'),
    (3, "ces", 2, 8, '3 <span class="muted">of 2 to 8</span>'),
    (0.8748, "social_mention", -1, 1, '+0.87 <span class="muted">sentiment</span>'),
    (-0.5984, "social_mention", -1, 1, '-0.60 <span class="muted">sentiment</span>'),
    (78.3667, "social_reply", None, None, '1 h 18 min <span class="muted">to reply</span>'),
    (0.85, "mystery_report", 0, 1, '0.85 <span class="muted">of 1</span>'),
    # minutes, said as such: a bare 397.4 read as nothing in particular
    (397.4, "first_response_time", None, None, '6 h 37 min <span class="muted">to first reply</span>'),
    (12345.2, "resolution_time", None, None, '8 d 13 h <span class="muted">to resolve</span>'),
    (3600.5, "unknown_kind", None, None, "3,600"),
])
def test_an_answer_reads_on_its_scale(value, kind, low, high, shown):
    assert str(answer(value, kind, low, high)) == shown


@pytest.mark.parametrize("value, shown", [(4.86667, "4.9 min"), (4, "4 min"), (59.6, "1 h 00 min"), (61, "1 h 01 min"),
                                          (47 * 60 + 59, "47 h 59 min"), (3 * 1440 + 125, "3 d 2 h")])
def test_minutes_read_as_people_say_them(value, shown):
    assert minutes(value) == shown


def test_the_timing_of_a_ticket_still_open_says_so():
    assert str(answer(49 * 60, "resolution_time", still_open=True)) == (
        '<span class="muted">still open after</span> 2 d 1 h')


def test_text_in_an_answer_is_escaped():
    assert "<script>" not in str(answer(1, "<script>", 1, 5))
