"""How a number was worked out: the page behind each metric of a report, its items, formula and parameters."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from appraisal.models import MetricResult
from core.db import transaction

pytestmark = pytest.mark.usefixtures("session_per_request")


def test_a_number_on_the_report_opens_how_it_was_worked_out(worked_example, as_user):
    """Every number drills down to its items: Ann's CSAT % of 75 is 3 satisfied answers of 4, at 100 points each."""
    run = worked_example.run()
    ann = worked_example.ids["ann"]
    client = as_user("ann@example.com")
    report = client.get("/report").get_data(as_text=True)
    link = f"/report/{ann}/runs/{run}/csat_percent"
    assert f'href="{link}"' in report
    page = client.get(link)
    assert page.status_code == 200
    html = " ".join(page.get_data(as_text=True).split())
    assert "CSAT % for you" in html and f"Run {run}, week 2026-11-02 to 2026-11-08, guideline version 1" in html
    assert 'data-field="value">75.0%' in html and 'data-field="n">4<' in html
    points = re.findall(r'data-field="points">([^<]+)<', html)
    assert sorted(points) == ["0", "100", "100", "100"]  # mean 75: the value above
    assert "Wilson score interval at 95%" in html
    # A parameter left to the rule says what the rule makes of it
    assert ("<code>top_box</code> = the rule's default (how many top answers count as satisfied; default 2, 3 on "
            "scales of ten or more points)") in html
    assert "Shrunk toward the team mean" in html and "(n × value + k × team mean) / (n + k), with k = 2" in html
    assert "Back to your report" in html
    # A manager reads it from the employee's report; a metric the run lacks, or a page past the items, is named
    mia = as_user("mia@example.com")
    assert "CSAT % for Ann" in mia.get(link).get_data(as_text=True)
    assert mia.get(f"/report/{ann}/runs/{run}/resolution_sla").status_code == 404
    past = mia.get(link + "?page=2")
    assert past.status_code == 400 and "page: there is 1 page" in past.get_data(as_text=True)


def test_lineage_of_someone_in_no_team_names_the_organisation_mean_as_the_prior(worked_example, as_user):
    """Dan, in no team, is shrunk toward the organisation's mean: the page said 'toward the team mean' with no
    team mean shown, and the number could not be worked out from it."""
    from core.models import Employee

    dan = worked_example.ids["dan"]
    with transaction() as session:
        session.get(Employee, dan).team_id = None
    run = worked_example.run()
    with transaction() as session:
        result = session.scalar(select(MetricResult).where(MetricResult.run_id == run, MetricResult.employee_id == dan,
                                                           MetricResult.metric == "csat_percent"))
        org, shrunk = result.org_mean, result.shrunk
    assert shrunk == pytest.approx((5 * 60.0 + 2 * org) / 7)  # 3 of 5 satisfied, k = 2
    html = " ".join(as_user("hr@example.com").get(f"/report/{dan}/runs/{run}/csat_percent").get_data(as_text=True)
                    .split())
    assert 'data-field="team">none: no team, or nobody else in it with items of this metric: the organisation mean ' \
           'stands in<' in html
    assert f'data-field="org">{org:.1f}%<' in html
    assert "Shrunk toward the organisation mean" in html
    assert f"with k = 2, n = 5 and the organisation mean {org:.1f}%" in html


def test_a_metric_the_guideline_bounds_shows_its_bounds(worked_example, as_user):
    """Bounds set in the guideline ({"min": .., "max": ..}) broke the page with a 500 for everyone, the employee
    reading their own report included; the rule's own bounds (a list) did not."""
    from appraisal.guidelines import publish_guideline
    from appraisal.lineage import metric_lineage
    from tests.fixtures.appraisal import GUIDELINE

    bounded = {**GUIDELINE, "metrics": [{"rule": "csat_percent", "weight": 60, "bounds": {"min": 20, "max": 100}},
                                        {"rule": "nps", "weight": 40}]}
    with transaction() as session:
        publish_guideline(session, bounded, note="CSAT below 20% counts as nothing")
    run = worked_example.run(version=2)
    ann = worked_example.ids["ann"]
    with transaction() as session:
        assert metric_lineage(session, run, ann, "csat_percent")["formula"]["bounds"] == [20, 100]
        assert metric_lineage(session, run, ann, "nps")["formula"]["bounds"] == [-100, 100]  # the rule's own
        normalised = session.scalar(select(MetricResult.normalised).where(
            MetricResult.run_id == run, MetricResult.employee_id == ann, MetricResult.metric == "csat_percent"))
    page = as_user("ann@example.com").get(f"/report/{ann}/runs/{run}/csat_percent")
    assert page.status_code == 200
    html = " ".join(page.get_data(as_text=True).split())
    assert f"{normalised:.1f} (weight 60; 20 maps to 0 and 100 to 100)" in html


def test_an_employee_is_not_shown_a_mean_that_is_one_colleague_s_figure(worked_example, as_user):
    """Ann's team NPS pools her answers and Bob's (Cat has none): from it she would read Bob's NPS. Her manager,
    who reads Bob's report anyway, sees it."""
    run = worked_example.run()
    ann = worked_example.ids["ann"]
    own = " ".join(as_user("ann@example.com").get(f"/report/{ann}/runs/{run}/nps").get_data(as_text=True).split())
    assert 'data-field="team">not shown to you: it pools fewer than 2 colleagues besides you<' in own
    assert "+37.5" not in own
    # Nor what it could be worked out from: her shrunk value, (4 × 25 + 2 × team mean) / 6, and its 0-100 image.
    assert 'data-field="shrunk">not shown to you: with the formula it would give away the team mean' in own
    assert 'data-field="normalised"' not in own and "+29.2" not in own
    assert 'data-field="org">+25.0<' in own  # the organisation's pools Bob and Dan besides her
    managed = " ".join(as_user("mia@example.com").get(f"/report/{ann}/runs/{run}/nps").get_data(as_text=True)
                       .split())
    assert 'data-field="team">+37.5<' in managed and "not shown to you" not in managed


def test_a_metric_whose_plugin_is_gone_says_so(make_app, worked_example):
    """Its plugin blocked after the run, the page said 'run 1 has no metric', which it had."""
    from appraisal.guidelines import publish_guideline
    from core import hookimpl
    from core.scoring import ScoringRule
    from tests.fixtures.appraisal import GUIDELINE
    from tests.fixtures.org import sign_in

    class TopBox(ScoringRule):
        name, title, kinds, display, proportion, bounds = "top_box", "Top box", ("csat",), "percent", True, (0, 100)

        def points(self, feedback, params):
            from sqlalchemy import case

            return case((feedback.value >= 5, 100.0), else_=0.0)

    class Rules:
        @hookimpl
        def register_scoring_rules(self):
            return [TopBox]

    with make_app(extra_plugins={"top_box": Rules()}).app_context():
        with transaction() as session:
            publish_guideline(session, {**GUIDELINE, "metrics": [{"rule": "csat_percent", "weight": 60},
                                                                 {"rule": "top_box", "weight": 40}]}, note="top box")
        run = worked_example.run(version=2)
    without = make_app().test_client()  # the plugin blocked, or uninstalled, since
    assert sign_in(without, "hr@example.com").status_code == 302
    page = without.get(f"/report/{worked_example.ids['ann']}/runs/{run}/top_box")
    assert page.status_code == 404
    assert "its scoring rule is not loaded now (its plugin is blocked or uninstalled)" in page.get_data(as_text=True)


def test_a_metric_of_someone_with_no_composite_says_it_weighs_in_none(worked_example, as_user):
    """With too little of the weight sufficient there is no composite, but the page still read "On the
    composite's 0 to 100: 54.1 (weight 10)" as if it counted in one."""
    from sqlalchemy import update

    from appraisal.models import AppraisalResult

    run = worked_example.run()
    bob = worked_example.ids["bob"]
    url = f"/report/{bob}/runs/{run}/csat_percent"
    client = as_user("hr@example.com")
    assert "There is no composite" not in client.get(url).get_data(as_text=True)
    with transaction() as session:  # as a run stores it when too little of the weight had enough items
        session.execute(update(AppraisalResult).where(AppraisalResult.run_id == run, AppraisalResult.employee_id == bob)
                        .values(composite=None, state="insufficient_data"))
    html = " ".join(client.get(url).get_data(as_text=True).split())
    assert "There is no composite this period, though: too little of the weight had enough items" in html
