"""Property tests of the appraisal's arithmetic and of the guideline's weight rule."""
from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError
from sqlalchemy import Float, column, create_engine, func, select, table, text

from appraisal import formulas
from appraisal.guideline_schema import GuidelineSchema
from appraisal.incentives import allocate, allocate_pro_rata
from plugins.survey_scores.rules import Nps

unit = st.floats(min_value=0, max_value=100, allow_nan=False)
weight = st.floats(min_value=0.01, max_value=100, allow_nan=False)
mean = st.floats(min_value=-100, max_value=100, allow_nan=False)


@given(st.lists(st.tuples(weight, unit), min_size=1, max_size=12))
def test_composite_stays_within_its_parts_and_within_0_100(parts):
    value = formulas.composite(parts)
    assert min(x for _, x in parts) <= value <= max(x for _, x in parts)
    assert 0 <= value <= 100


@given(st.lists(st.tuples(weight, mean), min_size=1, max_size=6), st.floats(-1e3, 1e3), st.floats(-1e3, 1e3))
def test_normalised_values_keep_the_composite_in_bounds(metrics, low, span):
    assume(abs(span) > 1e-3)
    bounds = (low, low + abs(span))
    parts = [(w, formulas.normalise(v, bounds, direction)) for (w, v), direction
             in zip(metrics, ["higher", "lower"] * len(metrics), strict=False)]
    assert 0 <= formulas.composite(parts) <= 100


@given(mean, mean, st.integers(0, 10_000), st.floats(0.1, 100))
def test_shrinkage_lands_between_the_mean_and_the_team_mean(value, prior, n, k):
    shrunk = formulas.shrink(value, n, prior, k)
    assert min(value, prior) - 1e-9 <= shrunk <= max(value, prior) + 1e-9


@given(mean, mean, st.integers(0, 5_000), st.floats(0.1, 100))
def test_shrinkage_fades_as_n_grows(value, prior, n, k):
    pull = abs(formulas.shrink(value, n, prior, k) - value)
    pull_later = abs(formulas.shrink(value, n + 1, prior, k) - value)
    assert pull_later <= pull + 1e-12
    # and vanishes in the limit: k/(n+k) of the distance to the prior
    assert abs(formulas.shrink(value, 10**9, prior, k) - value) <= abs(prior - value) * k / 10**9 + 1e-9


def test_shrinkage_by_hand():
    # n=4 at 50%, team 80%, k=6: (4*50 + 6*80) / 10 = 68
    assert formulas.shrink(50, 4, 80, 6) == pytest.approx(68)
    assert formulas.shrink(50, 4, 80, 0) == 50  # k = 0: no shrinkage


@given(st.integers(1, 5_000).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_interval_contains_the_rate(counts, confidence):
    n, successes = counts
    rate = successes / n
    low, high = formulas.wilson_interval(rate, n, confidence)
    assert 0 <= low <= rate <= high <= 1


def test_wilson_interval_by_hand():
    # 8 of 10 at 95%: the textbook Wilson interval is 0.4902 to 0.9433
    low, high = formulas.wilson_interval(0.8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)


@settings(max_examples=60)
@given(st.lists(st.integers(0, 10), min_size=1, max_size=60))
def test_nps_from_sql_stays_within_plus_minus_100_and_is_promoters_minus_detractors(answers):
    # The rule's own SQL expression, evaluated by a database over a scratch table of answers.
    engine = create_engine("sqlite://")
    rows = table("answers", column("value", Float), column("scale_min", Float), column("scale_max", Float))
    with engine.connect() as conn:
        conn.execute(text("CREATE TEMP TABLE answers (value REAL, scale_min REAL, scale_max REAL)"))
        conn.execute(rows.insert(), [{"value": float(a), "scale_min": 0.0, "scale_max": 10.0} for a in answers])
        nps = conn.execute(select(func.avg(Nps().points(rows.c, {})))).scalar_one()
    promoters = sum(a >= 9 for a in answers) / len(answers)
    detractors = sum(a <= 6 for a in answers) / len(answers)
    assert -100 <= nps <= 100
    assert nps == pytest.approx(100 * (promoters - detractors))


@given(st.dictionaries(st.integers(1, 50), st.floats(0, 100, allow_nan=False), min_size=1))
def test_ranks_equal_values_rank_equal_and_percentiles_stay_in_0_100(values_by_key):
    ranked = formulas.ranks(values_by_key)
    for key, (rank, percentile) in ranked.items():
        assert 1 <= rank <= len(values_by_key)
        # someone ranked alone has no percentile: compared with nobody
        assert (percentile is None) if len(values_by_key) == 1 else 0 <= percentile <= 100
        better = sum(round(v, 9) > round(values_by_key[key], 9) for v in values_by_key.values())
        assert rank == better + 1


def test_values_equal_in_exact_arithmetic_rank_equal():
    # 0.1 + 0.2 and 0.3 differ in floating point; rounded to 1e-9 they tie, and share the percentile:
    # one peer below and half of the one beside them, of the two others.
    ranked = formulas.ranks({"a": 0.1 + 0.2, "b": 0.3, "c": 0.2})
    assert ranked["a"] == ranked["b"] == (1, 75.0)
    assert ranked["c"] == (3, 0.0)
    assert formulas.ranks({"x": 90.0, "y": 90.0}) == {"x": (1, 50.0), "y": (1, 50.0)}
    assert formulas.ranks({"alone": 90.0}) == {"alone": (1, None)}  # had been 100, meeting percentile tiers


@pytest.mark.parametrize(("confidence", "df", "table"), [
    (0.95, 1, 12.7062), (0.95, 2, 4.3027), (0.95, 3, 3.1824), (0.95, 10, 2.2281), (0.95, 30, 2.0423),
    (0.95, 99, 1.9842), (0.95, 100, 1.9840), (0.95, 1000, 1.9623), (0.99, 1, 63.6567), (0.99, 5, 4.0321),
    (0.5, 4, 0.7407), (0.999, 100, 3.3905)])
def test_t_scores_match_the_tables(confidence, df, table):
    assert formulas.t_score(confidence, df) == pytest.approx(table, abs=1e-4)


def test_a_mean_interval_holds_its_mean_within_what_the_metric_can_take():
    # ratings 2 3 2 3: 2.5 +- t(3) * 0.577 / 2 = 2.5 +- 0.919; with the normalising bounds 3..5 it was "3.00 to
    # 3.07", leaving out the mean, and reply times of 200..500 minutes under bounds 0..120 ran backwards
    low, high = formulas.mean_interval(2.5, 4, 4 + 9 + 4 + 9, 0.95, (1.0, 5.0))
    assert (round(low, 3), round(high, 3)) == (1.581, 3.419)
    low, high = formulas.mean_interval(350, 4, 300**2 + 400**2 + 500**2 + 200**2, 0.95, (0.0, math.inf))
    assert low <= 350 <= high and low >= 0 and high == pytest.approx(350 + 3.1824 * 129.099 / 2, abs=0.01)
    assert formulas.mean_interval(300, 1, 300**2, 0.95, (0.0, math.inf)) == (None, None)
    assert formulas.mean_interval(4, 1, 16, 0.95, (1.0, 5.0)) == (1.0, 5.0)


def test_a_mean_interval_of_answers_all_alike_is_no_point():
    """Four 5s gave "5.00 to 5.00": the t interval of no spread, as if four answers ruled out a 4 for good. Half
    an answer at each end of the scale joins their spread, so alike answers give an interval that narrows as
    they add up; answers that differ keep their t interval as it was."""
    def interval(answers, scale=(1.0, 5.0)):
        n, mean = len(answers), sum(answers) / len(answers)
        return formulas.mean_interval(mean, n, sum(a * a for a in answers), 0.95, scale)

    assert interval([5, 5, 5, 5]) == pytest.approx((2.75, 5.0), abs=1e-3)  # s^2 = (16 / 2) / 4 = 2
    assert interval([3] * 10) == pytest.approx((2.548, 3.452), abs=1e-3)
    widths = [high - low for low, high in (interval([3] * n) for n in (4, 10, 40, 160))]
    assert widths == sorted(widths, reverse=True) and widths[-1] < 0.11
    assert interval([3] * 9 + [4]) == pytest.approx((2.874, 3.326), abs=1e-3)  # some spread: the t interval
    # a wide scale whose answers differ is not widened by its far end (reply times capped at 600 minutes)
    replies = [8, 12, 30, 18, 22, 10, 25, 15, 20, 18]
    low, high = interval(replies, (0.0, 600.0))
    assert 10 < low < 17.8 < high < 26
    # minutes have no scale to add answers at: as before, alike minutes are a point
    assert formulas.mean_interval(30.0, 4, 4 * 900, 0.95, (0.0, math.inf)) == (30.0, 30.0)

def test_an_nps_interval_of_answers_all_alike_is_no_point():
    # Rocks' adjusted Wald: four promoters are not "100 to 100"
    low, high = formulas.nps_interval(4, 0, 4)
    assert 0 < low < 50 and high == 100
    low, high = formulas.nps_interval(2, 1, 4)  # NPS 25
    assert low < 25 < high and -100 <= low and high <= 100


def _guideline(weights):
    rules = ["csat_percent", "nps", "ces", "csat_mean", "first_response_sla", "resolution_sla"]
    return {"metrics": [{"rule": rule, "weight": w} for rule, w in zip(rules, weights, strict=False)]}


@given(st.lists(st.floats(0.01, 100, allow_nan=False), min_size=1, max_size=6))
def test_weights_that_do_not_sum_to_100_are_rejected(weights):
    assume(abs(math.fsum(weights) - 100) > 1e-6)
    with pytest.raises(ValidationError) as caught:
        GuidelineSchema().load(_guideline(weights))
    assert "must sum to 100" in str(caught.value.messages["metrics"])


@given(st.lists(st.integers(1, 100), min_size=1, max_size=6))
def test_weights_summing_to_100_are_accepted(raw):
    total = sum(raw)
    weights = [100 * w / total for w in raw]
    weights[-1] = 100 - math.fsum(weights[:-1])
    assume(weights[-1] > 0)
    assert len(GuidelineSchema().load(_guideline(weights))["metrics"]) == len(raw)


amounts = st.lists(st.floats(0, 5_000, allow_nan=False).map(lambda x: round(x, 2)), min_size=0, max_size=30)


@given(amounts, st.floats(0, 20_000, allow_nan=False).map(lambda x: round(x, 2)),
       st.sampled_from(["rank_order", "pro_rata"]))
def test_allocation_never_exceeds_the_cap_nor_what_was_asked(asked, cap, rule):
    granted = allocate(list(enumerate(asked)), cap, rule)
    assert math.fsum(granted.values()) <= cap + 1e-9
    assert all(0 <= granted[i] <= asked[i] + 1e-9 for i in range(len(asked)))


@given(amounts, st.floats(0, 20_000, allow_nan=False).map(lambda x: round(x, 2)))
def test_rank_order_pays_the_better_ranked_first(asked, cap):
    granted = allocate(list(enumerate(asked)), cap, "rank_order")
    for i in range(1, len(asked)):
        if granted[i] > 0:  # someone lower down got money: everyone above was paid in full
            assert all(abs(granted[j] - asked[j]) < 1e-9 for j in range(i))


@given(amounts, st.floats(0, 20_000, allow_nan=False).map(lambda x: round(x, 2)))
def test_pro_rata_cuts_everyone_by_the_same_factor(asked, cap):
    granted = allocate(list(enumerate(asked)), cap, "pro_rata")
    total = math.fsum(asked)
    if total <= cap:
        assert granted == {i: a for i, a in enumerate(asked)}
        return
    for i, amount in enumerate(asked):
        assert granted[i] == pytest.approx(amount * cap / total, abs=0.01)  # floored to the cent


@given(st.lists(st.tuples(st.integers(1, 500_000), st.integers(0, 100)), min_size=1, max_size=20),
       st.integers(0, 2_000_000))
def test_pro_rata_over_payments_made_tops_everyone_up_to_one_share(wholes_and_paid_percent, room_cents):
    """Bonuses paid in part before: each ends at the same share of its whole (or at what was paid, if more),
    and the top-ups never pass what is left of the cap."""
    requests = [(i, whole / 100, math.floor(whole * percent / 100) / 100)
                for i, (whole, percent) in enumerate(wholes_and_paid_percent)]
    granted = allocate_pro_rata(requests, room_cents / 100)
    assert math.fsum(granted.values()) <= room_cents / 100 + 1e-9
    assert all(amount >= 0 for amount in granted.values())
    topped = [(whole, paid + granted[i]) for i, whole, paid in requests if granted[i] > 0]
    if topped:  # those topped up share one factor, to the cent; nobody left out is below it
        share = max(total / whole for whole, total in topped)
        assert all(total >= share * whole - 0.01 - 1e-9 for whole, total in topped)
        assert all(paid >= share * whole - 0.01 - 1e-9 for i, whole, paid in requests if not granted[i])


def test_a_tier_reason_never_rounds_a_composite_up_to_the_threshold_it_missed():
    """59.998 failed Bronze (composite 60) and took Skills (composite at most 60), whose reason read
    "composite 60.0"; a percentile of 89.96 read 90."""
    from appraisal.engine import EmployeeOutcome
    from appraisal.incentives import tier_proposals

    outcome = EmployeeOutcome(1, None, {}, "ok", 59.998, 100.0, 40, percentile=89.96)
    tiers = [{"name": "Bronze", "group": "reward", "conditions": {"min_composite": 60},
              "gives": [{"kind": "recognition", "amount": None, "note": None}]},
             {"name": "Skills", "group": "development", "conditions": {"max_composite": 60},
              "gives": [{"kind": "training", "amount": None, "note": None}]}]
    (proposal,) = tier_proposals([outcome], {"incentives": {"tiers": tiers}})
    assert proposal.reason == "Skills: composite 59.99, percentile 89.96"
    # and agrees with the 74.0 and 92.9 that 73.99 and 92.857 read as everywhere else (one decimal cut read 73.9)
    outcome = EmployeeOutcome(1, None, {}, "ok", 73.99, 100.0, 40, percentile=92.857)
    (proposal,) = tier_proposals([outcome], {"incentives": {"tiers": tiers}})
    assert proposal.reason == "Bronze: composite 73.99, percentile 92.85"


def test_no_composite_change_between_composites_of_different_metrics():
    """CSAT 80 in both periods, NPS 20 now but too few answers before: the composites (80, then 72) were
    compared, a change of -8.0 where no metric had changed."""
    from appraisal.engine import Appraisal, EmployeeOutcome, MetricOutcome

    def outcome(composite, nps_sufficient):
        metrics = {"csat_percent": MetricOutcome("csat_percent", 60, 20, 80.0, 60.0, 90.0, True, 80.0, 80.0, None,
                                                 None),
                   "nps": MetricOutcome("nps", 40, 10 if nps_sufficient else 3, 20.0, -30.0, 60.0, nps_sufficient,
                                        20.0, 60.0 if nps_sufficient else None, None, None)}
        return {1: EmployeeOutcome(1, None, metrics, "ok", composite, 100.0, 30)}

    now = outcome(72.0, True)
    Appraisal._compare(None, now, outcome(80.0, False))
    assert now[1].previous_composite == 80.0 and now[1].change is None
    assert now[1].metrics["csat_percent"].change == 0.0 and now[1].metrics["nps"].change is None
    alike = outcome(72.0, True)
    Appraisal._compare(None, alike, outcome(70.0, True))
    assert alike[1].change == 2.0
