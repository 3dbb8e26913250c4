"""The appraisal's one GROUP BY counts each metric's items right, however its rule writes its points."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import case, literal

from appraisal.aggregates import MetricSpec, _never_null, period_aggregates
from core.models import Feedback
from core.scoring import ScoringRule
from tests.fixtures.appraisal import WEEK


class TopTwo(ScoringRule):
    """Every answer scores: 100 for 4 or 5, else 0."""

    name, title, kinds, proportion = "top_two", "Top two", ("csat",), True

    def points(self, feedback, params):
        return case((feedback.value >= 4, 100.0), else_=0.0)


class Decided(ScoringRule):
    """Only clear answers score: 4 or 5 scores 100, 1 or 2 scores 0, and a 3 has no point (NULL)."""

    name, title, kinds, proportion = "decided", "Decided", ("csat",), True

    def points(self, feedback, params):
        return case((feedback.value >= 4, 100.0), (feedback.value <= 2, 0.0))


class Promoters(ScoringRule):
    name, title, kinds, proportion = "promoters", "Promoters", ("nps",), True

    def points(self, feedback, params):
        return case((feedback.value >= 9, 100.0), else_=0.0)


def test_which_points_are_a_number_for_every_item():
    assert _never_null(TopTwo().points(Feedback, {}))
    assert _never_null(literal(100.0))
    assert not _never_null(Decided().points(Feedback, {}))  # no ELSE: a 3 has no point
    assert not _never_null(case((Feedback.value >= 4, Feedback.value), else_=0.0))  # a value may be missing
    assert not _never_null(case((Feedback.value >= 4, 100.0), else_=None))


@pytest.mark.parametrize("case_mix", [False, True], ids=["plain", "with case mix"])
def test_each_metric_counts_the_items_its_rule_scores(session, create_employee, case_mix):
    ann = create_employee("Ann Agent")
    answers = [("csat", value) for value in (1, 2, 3, 4, 5, 5)] + [("nps", value) for value in (10, 3)]
    for offset, (kind, value) in enumerate(answers):
        session.add(Feedback(channel="test", kind=kind, external_id=f"item-{offset}", value=value,
                             scale_min=1.0 if kind == "csat" else 0.0, scale_max=5.0 if kind == "csat" else 10.0,
                             employee_id=ann.id, ticket_category="billing" if offset % 2 else "login",
                             occurred_at=WEEK.start + timedelta(hours=offset), payload={}))
    # A quarantined answer scores for nobody, whatever the rule.
    session.add(Feedback(channel="test", kind="csat", external_id="held", value=5.0, scale_min=1.0, scale_max=5.0,
                         employee_id=ann.id, status="quarantined", occurred_at=WEEK.start, payload={}))
    session.flush()
    # TopTwo and Decided both read csat, so they take a point column each; Promoters shares TopTwo's.
    specs = [MetricSpec("top_two", TopTwo(), {}), MetricSpec("decided", Decided(), {}),
             MetricSpec("promoters", Promoters(), {})]
    found = period_aggregates(session, specs, WEEK.start, WEEK.end,
                              case_mix=specs[1] if case_mix else None)
    mine = found.metrics[ann.id]
    assert (mine["top_two"].n, mine["top_two"].total) == (6, 300.0)
    assert (mine["decided"].n, mine["decided"].total) == (5, 300.0)  # the 3 is left out
    assert (mine["promoters"].n, mine["promoters"].total) == (2, 100.0)
    assert found.quarantined[ann.id] == 1
    if case_mix:  # login: 1, 3, 5 (the 3 has no point); billing: 2, 4, 5
        categories = found.categories[ann.id]
        assert (categories["login"].n, categories["login"].total) == (2, 100.0)
        assert (categories["billing"].n, categories["billing"].total) == (3, 200.0)
