"""Training needs of different kinds are ranked by how far short each is on its own metric's scale."""
from __future__ import annotations

import re

from appraisal.aggregates import MetricSpec
from appraisal.engine import Appraisal, EmployeeOutcome, MetricOutcome
from appraisal.guideline_schema import validate_guideline
from tests.fixtures.appraisal import GUIDELINE


def test_a_big_number_in_small_units_does_not_outrank_a_bigger_shortfall(app):
    """Chloé: 30 points of CSAT below the organisation in Billing (of a 0-100 scale), and a reply time 56
    minutes past her target (of a 0-600 minute scale). The CSAT gap is the bigger shortfall, a third of its
    scale against a tenth; sorted by the raw numbers, the 56 minutes came first and pushed it out."""
    plugins = app.extensions["plaudit.plugins"]
    document = validate_guideline(GUIDELINE | {
        "metrics": [{"rule": "csat_percent", "weight": 50},
                    {"rule": "social_reply_time", "weight": 50, "bounds": {"min": 0, "max": 600}}],
        "training": {"min_n": 2, "gap": 10, "max_needs": 1, "recommend": True}}, plugins)
    specs = [MetricSpec(m["rule"], plugins.scoring_rules[m["rule"]], m["params"]) for m in document["metrics"]]
    reply = MetricOutcome("social_reply_time", 50, 12, 86.0, None, None, True, 86.0, 85.7, None, None,
                          target=30.0, attainment="far_below")
    chloe = EmployeeOutcome(1, None, {"social_reply_time": reply}, "ok", 60.0, 100.0, 12, case_mix={
        "metric": "csat_percent", "categories": [
            {"category": "Billing", "n": 8, "value": 50.0, "org_value": 80.0, "org_n": 90, "org_people": 9,
             "gap": -30.0}]})
    [need] = Appraisal(document, specs)._training_needs(chloe)
    assert (need["area"], need["name"], need["gap"]) == ("ticket_category", "Billing", -30.0)


def test_a_case_mix_metric_the_guideline_does_not_weigh_is_measured_on_its_own_scale(app):
    """Mean CSAT (1 to 5) as the case-mix metric, outside the weights: 1.5 short in Refunds is 37.5% of its
    scale, more than CSAT % 30 points below target (30%). Taken as a share of 100 it counted as 1.5%."""
    plugins = app.extensions["plaudit.plugins"]
    document = validate_guideline(GUIDELINE | {
        "metrics": [{"rule": "csat_percent", "weight": 100}], "case_mix_metric": "csat_mean",
        "training": {"min_n": 2, "gap": 0.5, "max_needs": 1, "recommend": True}}, plugins)
    specs = [MetricSpec("csat_percent", plugins.scoring_rules["csat_percent"], {})]
    case_mix = MetricSpec("csat_mean", plugins.scoring_rules["csat_mean"], {})
    csat = MetricOutcome("csat_percent", 100, 20, 50.0, None, None, True, 50.0, 50.0, None, None,
                         target=80.0, attainment="far_below")
    dana = EmployeeOutcome(1, None, {"csat_percent": csat}, "ok", 50.0, 100.0, 20, case_mix={
        "metric": "csat_mean", "categories": [
            {"category": "Refunds", "n": 6, "value": 2.5, "org_value": 4.0, "org_n": 60, "org_people": 9,
             "gap": -1.5}]})
    [need] = Appraisal(document, specs, case_mix)._training_needs(dana)
    assert (need["area"], need["name"]) == ("ticket_category", "Refunds")


def test_a_metric_need_reads_as_the_metric_s_title(worked_example, app):
    """The team report, the team e-mail and the employee's report showed 'csat_percent' for a need below target."""
    from sqlalchemy import update

    from appraisal.digests import render_digest
    from appraisal.models import AppraisalRun, Target
    from appraisal.report import employee_report, team_report
    from core.db import transaction
    from core.models import Employee, User, managed_teams

    ann = worked_example.ids["ann"]
    with transaction() as session:  # Ann's November target of 80 raised to 100: her 75 is far below it
        session.execute(update(Target).where(Target.employee_id == ann).values(value=100))
    run_id = worked_example.run()
    rules = app.extensions["plaudit.plugins"].scoring_rules
    with transaction() as session, app.test_request_context():
        run = session.get(AppraisalRun, run_id)
        [need] = [n for n in employee_report(session, run, ann, rules)["training_needs"] if n["area"] == "metric"]
        assert (need["name"], need["label"]) == ("csat_percent", "CSAT %")
        mia = session.get(User, worked_example.manager).employee_id
        assert session.get(Employee, mia).name == "Mia Manager"
        rows = team_report(session, run, managed_teams(mia), rules)["rows"]
        assert [n["label"] for row in rows if row["employee_id"] == ann for n in row["training_needs"]] == ["CSAT %"]
        for kind, recipient in (("employee", ann), ("team", mia)):
            _subject, text, html = render_digest(session, run, kind, recipient)
            shown = text + re.sub(r"<[^>]+>", "", html)  # what the reader sees, not the markup's attributes
            assert "CSAT %" in shown and "csat_percent" not in shown, kind


def test_a_training_reason_names_no_mean_of_one_colleague():
    """The reason the employee reads gave the organisation's mean of a category where one colleague besides them
    had items: that colleague's own score."""
    from appraisal.incentives import training_reason

    need = {"area": "ticket_category", "name": "Refunds", "metric": "CSAT %", "value": 0.0, "n": 2,
            "benchmark": 42.857, "gap": -42.857}
    assert training_reason({**need, "org_people": 3}) == (
        "training on Refunds: CSAT % 0.0 over 2 item(s) against the org's mean 42.9")
    assert training_reason({**need, "org_people": 2}) == (
        "training on Refunds: CSAT % 0.0 over 2 item(s), below the org's mean (not shown: it pools fewer than 2 "
        "colleagues)")
    assert "42.9" in training_reason(need)  # a need stored before the count was kept reads as it did
