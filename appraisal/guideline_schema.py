"""The HR guideline document: what is measured, how it is weighed, what it leads to. Validated here.

The schema checks the document's shape; :func:`validate_guideline` then checks it against the loaded plugins
(rules and checks exist, their parameters are valid). Both report errors keyed by field, so a message reads
``metrics.1.weight: ...``.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)
from sqlalchemy.types import NullType

from core.attribution import ATTRIBUTION_BASES

#: The only outcomes a guideline can lead to. A coaching plan is the furthest it may go.
RECOMMENDATION_KINDS = ("bonus", "recognition", "coaching", "training")
#: Outcomes people try to write into a guideline that Plaudit refuses by design.
SANCTIONS = ("termination", "dismissal", "firing", "demotion", "warning", "written_warning", "suspension",
             "pay_cut", "penalty", "fine", "probation", "performance_improvement_plan", "pip")
COMMENT_POLICIES = ("all", "positive_only", "none", "redacted")
ALLOCATIONS = ("rank_order", "pro_rata")
PERIOD_SCOPES = ("org", "team")
WEIGHT_TOTAL = 100.0
#: Upper bounds of what a guideline may say. Past them a value is a typo, not a policy, and some would break
#: the numbers: a shrinkage strength of 1e308 made every shrunk metric infinite and every composite 100.
MAX_COUNT = 100_000  # items a metric or category needs; weeks in a streak
MAX_SHRINKAGE = 1_000.0  # pseudo-items of the team mean
MAX_MONEY = 1_000_000_000.0  # one bonus, or a run's budget cap
MAX_GAP = 1_000_000.0  # an attainment gap, in the metric's units (minutes, for a duration)


_money = validate.Range(0, MAX_MONEY, error=f"give an amount from 0 to {MAX_MONEY:,.0f}")
_count = validate.Range(1, MAX_COUNT, error=f"give a whole number from 1 to {MAX_COUNT:,}")
_gap = validate.Range(0, MAX_GAP, error=f"give a gap from 0 to {MAX_GAP:,.0f}")


def _cents(value: float | None) -> None:
    """Money has at most two decimal places: a cap of 100.005 would be shown as 100.00 and spent as 100.005."""
    if value is not None and round(value, 2) != value:
        raise ValidationError("give at most two decimal places")


class RangeSchema(Schema):
    min = fields.Float(required=True, allow_nan=False)
    max = fields.Float(required=True, allow_nan=False)

    @validates_schema
    def _ordered(self, data, **_):
        if data["min"] >= data["max"]:
            raise ValidationError("must be below max", "min")


class AttainmentSchema(Schema):
    """Attainment levels, as gaps in the metric's own units from the target."""

    far_below = fields.Float(load_default=10.0, allow_nan=False, validate=_gap,
                             metadata={"description": "more than this short of the target is 'far below'"})
    exceeded = fields.Float(load_default=5.0, allow_nan=False, validate=validate.Range(
                                0, MAX_GAP, min_inclusive=False, error=f"give a gap above 0, up to {MAX_GAP:,.0f}"),
                            metadata={"description": "this far past the target is 'exceeded'"})


class MetricSpecSchema(Schema):
    rule = fields.String(required=True, metadata={"description": "a loaded scoring rule's slug"})
    weight = fields.Float(required=True, allow_nan=False,
                          validate=validate.Range(min=0, max=WEIGHT_TOTAL, min_inclusive=False,
                                                   error="give a weight above 0, up to 100"))
    params = fields.Dict(keys=fields.String(), load_default=dict)
    min_n = fields.Integer(load_default=None, allow_none=True, validate=_count,
                           metadata={"description": "overrides the guideline's min_sample for this metric"})
    bounds = fields.Nested(RangeSchema, load_default=None, allow_none=True,
                           metadata={"description": "the values mapped to 0 and 100 in the composite, for "
                                                    "rules without natural bounds"})
    target_bounds = fields.Nested(RangeSchema, load_default=None, allow_none=True,
                                  metadata={"description": "the targets managers may set for this metric"})
    attainment = fields.Nested(AttainmentSchema, load_default=None, allow_none=True)


_composite = validate.Range(0, 100, error="a composite runs from 0 to 100")
_percentile = validate.Range(0, 100, error="a percentile runs from 0 to 100")


class ConditionsSchema(Schema):
    min_composite = fields.Float(load_default=None, allow_none=True, allow_nan=False, validate=_composite)
    max_composite = fields.Float(load_default=None, allow_none=True, allow_nan=False, validate=_composite)
    min_percentile = fields.Float(load_default=None, allow_none=True, allow_nan=False, validate=_percentile)
    max_percentile = fields.Float(load_default=None, allow_none=True, allow_nan=False, validate=_percentile)
    min_streak = fields.Integer(load_default=None, allow_none=True, validate=_count,
                                metadata={"description": "consecutive periods with every target met"})
    min_n = fields.Integer(load_default=None, allow_none=True, validate=_count,
                           metadata={"description": "items behind the composite's metrics, at least"})
    no_open_flags = fields.Boolean(load_default=True)

    @validates_schema
    def _possible(self, data, **_):
        """A tier nobody can reach (at least 90 and at most 10) is a slip, not a policy."""
        for measure in ("composite", "percentile"):
            low, high = data.get(f"min_{measure}"), data.get(f"max_{measure}")
            if low is not None and high is not None and low > high:
                raise ValidationError(f"nobody can meet this: at least {low:g} and at most {high:g}",
                                      f"min_{measure}")


class OutcomeSchema(Schema):
    kind = fields.String(required=True)
    amount = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                          validate=[_money, _cents])
    note = fields.String(load_default=None, allow_none=True)

    @validates("kind")
    def _allowed(self, kind, **_):
        if kind.strip().lower().replace(" ", "_").replace("-", "_") in SANCTIONS:
            raise ValidationError(f"{kind!r} is a sanction, and no guideline may recommend one: Plaudit "
                                  f"recommends {', '.join(RECOMMENDATION_KINDS)}, a coaching plan at most")
        if kind not in RECOMMENDATION_KINDS:
            raise ValidationError(f"must be one of {', '.join(RECOMMENDATION_KINDS)}")

    @validates_schema
    def _amount_for_bonus(self, data, **_):
        if data.get("kind") == "bonus" and not data.get("amount"):
            raise ValidationError("a bonus needs an amount above 0", "amount")
        if data.get("kind") != "bonus" and data.get("amount") is not None:
            raise ValidationError("only a bonus has an amount", "amount")


class TierSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    group = fields.String(load_default="reward", validate=validate.Length(min=1, max=50),
                          metadata={"description": "within a group, an employee gets the first tier they qualify "
                                                   "for; groups are independent"})
    conditions = fields.Nested(ConditionsSchema, load_default=lambda: ConditionsSchema().load({}))
    gives = fields.List(fields.Nested(OutcomeSchema), required=True, validate=validate.Length(min=1))


class BudgetSchema(Schema):
    cap = fields.Float(load_default=None, allow_none=True, allow_nan=False, validate=[_money, _cents],
                       metadata={"description": "the most all bonuses of one run may add up to; none: no cap"})
    allocation = fields.String(load_default="rank_order", validate=validate.OneOf(ALLOCATIONS))
    currency = fields.String(load_default="EUR", validate=validate.Regexp(
        r"^[A-Z]{3}\Z", error="give a currency's three-letter ISO 4217 code in capitals, such as EUR or USD"))


class IncentivesSchema(Schema):
    tiers = fields.List(fields.Nested(TierSchema), load_default=list)
    budget = fields.Nested(BudgetSchema, load_default=lambda: BudgetSchema().load({}))

    @validates("tiers")
    def _unique_names(self, tiers, **_):
        # A tier that failed to load may lack its name; its own error names the field.
        names = [t["name"] for t in tiers if isinstance(t, Mapping) and "name" in t]
        if len(names) != len(set(names)):
            raise ValidationError("tier names must be unique")


class TrainingSchema(Schema):
    min_n = fields.Integer(load_default=5, validate=_count,
                           metadata={"description": "items in a category before it can be a training need"})
    gap = fields.Float(load_default=10.0, allow_nan=False, validate=_gap,
                       metadata={"description": "points below the org's mean for that category"})
    max_needs = fields.Integer(load_default=3,
                               validate=validate.Range(1, 20, error="give a whole number from 1 to 20"))
    recommend = fields.Boolean(load_default=True,
                               metadata={"description": "turn each training need into a training recommendation"})


class PartPeriodSchema(Schema):
    """Who worked only part of a period (joined or left within it): whether they rank, and what a bonus pays."""

    min_share_worked = fields.Float(
        load_default=0.0, allow_nan=False,
        validate=validate.Range(0, 100, error="give a share of the period's days, 0 to 100"),
        metadata={"description": "the share of a period's days (%) someone must have worked to be ranked; "
                                 "0 ranks everyone appraised"})
    prorate_bonus = fields.Boolean(load_default=False, metadata={
        "description": "pay a tier's bonus in proportion to the days of the period worked"})


#: What a guideline published before ``part_period`` existed meant: everyone ranked, bonuses whole.
PART_PERIOD_DEFAULT = {"min_share_worked": 0.0, "prorate_bonus": False}


def part_period(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """``document``'s part-period settings; the old meaning for a version published without them."""
    return document.get("part_period") or PART_PERIOD_DEFAULT


class CheckSettingsSchema(Schema):
    enabled = fields.Boolean(load_default=True)
    params = fields.Dict(keys=fields.String(), load_default=dict)


class GuidelineSchema(Schema):
    metrics = fields.List(fields.Nested(MetricSpecSchema), required=True, validate=validate.Length(min=1))
    min_sample = fields.Integer(load_default=10, validate=_count,
                                metadata={"description": "items a metric needs before it is a number that ranks"})
    shrinkage_strength = fields.Float(
        load_default=5.0, allow_nan=False, metadata={"description": "k in (n*mean + k*team_mean)/(n + k)"},
        validate=validate.Range(0, MAX_SHRINKAGE, error=f"give a number from 0 to {MAX_SHRINKAGE:,.0f}"))
    composite_min_weight = fields.Float(load_default=50.0, allow_nan=False,
                                        validate=validate.Range(0, 100, error="give a share of the weight, 0 to 100"),
                                        metadata={"description": "share of the weight (%) that needs enough "
                                                                 "data before the composite ranks"})
    confidence_level = fields.Float(load_default=0.95, allow_nan=False,
                                     validate=validate.Range(0.5, 0.999, error="give a level from 0.5 to 0.999"))
    attribution_policy = fields.List(fields.String(validate=validate.OneOf(ATTRIBUTION_BASES)),
                                     load_default=None, allow_none=True, validate=validate.Length(min=1),
                                     metadata={"description": "none: PLAUDIT_ATTRIBUTION_POLICY"})
    comment_visibility = fields.String(load_default="redacted", validate=validate.OneOf(COMMENT_POLICIES))
    attainment = fields.Nested(AttainmentSchema, load_default=lambda: AttainmentSchema().load({}))
    ranking_scope = fields.String(load_default="org", validate=validate.OneOf(PERIOD_SCOPES))
    part_period = fields.Nested(PartPeriodSchema, load_default=lambda: PartPeriodSchema().load({}))
    case_mix_metric = fields.String(load_default="csat_percent", allow_none=True)
    training = fields.Nested(TrainingSchema, load_default=lambda: TrainingSchema().load({}))
    incentives = fields.Nested(IncentivesSchema, load_default=lambda: IncentivesSchema().load({}))
    approval_required = fields.List(fields.String(validate=validate.OneOf(RECOMMENDATION_KINDS)),
                                    load_default=lambda: ["bonus"])
    integrity = fields.Dict(keys=fields.String(), values=fields.Nested(CheckSettingsSchema), load_default=dict)

    @validates("metrics")
    def _weights(self, metrics, **_):
        # A metric that failed to load may lack its rule or weight; its own error names the field.
        loaded = [m for m in metrics if isinstance(m, Mapping)]
        rules = [m["rule"] for m in loaded if "rule" in m]
        repeated = sorted({r for r in rules if rules.count(r) > 1})
        if repeated:
            raise ValidationError(f"each rule may appear once; repeated: {', '.join(repeated)}")
        if len(loaded) < len(metrics) or not all("weight" in m for m in loaded):
            return  # the sum of the weights means nothing until every weight has loaded
        total = sum(m["weight"] for m in metrics)
        if abs(total - WEIGHT_TOTAL) > 1e-6:
            raise ValidationError(f"weights must sum to 100; these sum to {total:.10g}")

    @validates("attribution_policy")
    def _no_repeats(self, bases, **_):
        if bases is not None and len(bases) != len(set(bases)):
            raise ValidationError("each basis may appear once")

    @post_load
    def _sorted(self, data, **_):
        data["approval_required"] = sorted(set(data["approval_required"]))
        return data


def points_problem(rule, params: Mapping[str, Any]) -> str | None:
    """What is wrong with the points ``rule`` gives under ``params``, found without running them: an error in
    building the expression, or points that are not numbers (text would average to nonsense, or fail)."""
    from core.models import Feedback

    try:
        points = rule.points(Feedback, dict(params))
        kind = points.type
    except Exception as exc:  # noqa: BLE001 (any fault of a plugin's rule is what is looked for)
        return (f"{rule.name}'s points cannot be built with these parameters ({type(exc).__name__}: {exc}); "
                f"the fault is in its plugin, {type(rule).__module__}")
    if isinstance(kind, NullType):  # a type SQLAlchemy cannot tell (a function it does not know): let it be
        return None
    try:
        python_type = kind.python_type
    except NotImplementedError:
        return None
    if python_type is bool or python_type not in (int, float, Decimal):
        return (f"{rule.name}'s points are {type(kind).__name__.lower()}, not numbers, so they cannot be averaged; "
                f"the fault is in its plugin, {type(rule).__module__}")
    return None


def validate_guideline(document: Mapping[str, Any], plugins) -> dict[str, Any]:
    """Validate ``document`` and return it with every default filled in and every parameter loaded.

    :param plugins: the loaded plugins, whose scoring rules and integrity checks the document may name.
    :raises marshmallow.ValidationError: with messages keyed by field (``metrics.0.rule``).
    """
    data = GuidelineSchema().load(dict(document))
    errors: dict[str, Any] = {}
    for index, spec in enumerate(data["metrics"]):
        rule = plugins.scoring_rules.get(spec["rule"])
        if rule is None:
            errors.setdefault("metrics", {})[index] = {"rule": [
                f"unknown scoring rule {spec['rule']!r}; loaded: {', '.join(sorted(plugins.scoring_rules))}"]}
            continue
        if rule.params_schema is None and spec["params"]:
            errors.setdefault("metrics", {})[index] = {"params": [f"{spec['rule']} takes no parameters"]}
            continue
        try:
            spec["params"] = rule.params_schema().load(spec["params"]) if rule.params_schema else {}
        except ValidationError as exc:
            errors.setdefault("metrics", {})[index] = {"params": exc.messages}
            continue
        if spec["bounds"] is None and rule.value_bounds(spec["params"]) is None:
            errors.setdefault("metrics", {})[index] = {"bounds": [
                f"{spec['rule']} has no natural bounds: give the values that map to 0 and 100"]}
            continue
        problem = points_problem(rule, spec["params"])
        if problem:
            errors.setdefault("metrics", {})[index] = {"rule": [problem]}
    case_mix = plugins.scoring_rules.get(data["case_mix_metric"]) if data["case_mix_metric"] else None
    if data["case_mix_metric"] is not None and case_mix is None:
        errors["case_mix_metric"] = [f"unknown scoring rule {data['case_mix_metric']!r}"]
    elif case_mix is not None and case_mix.name not in {spec["rule"] for spec in data["metrics"]}:
        # Measured with its defaults (a weighed one was checked above with the guideline's parameters).
        problem = points_problem(case_mix, case_mix.params_schema().load({}) if case_mix.params_schema else {})
        if problem:
            errors["case_mix_metric"] = [problem]
    for slug, settings in data["integrity"].items():
        check = plugins.integrity_checks.get(slug)
        if check is None:
            errors.setdefault("integrity", {})[slug] = [
                f"unknown integrity check; loaded: {', '.join(sorted(plugins.integrity_checks)) or 'none'}"]
            continue
        try:
            settings["params"] = check.load_params(settings["params"])
        except ValidationError as exc:
            errors.setdefault("integrity", {})[slug] = {"params": exc.messages}
    if errors:
        raise ValidationError(errors)
    return data
