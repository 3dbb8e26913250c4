"""Appraisal runs over the API: list them, request one for a period, and read a run's results."""
from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from appraisal.guidelines import GuidelineError, guideline_version
from appraisal.models import RUN_STATUSES, AppraisalResult, AppraisalRun, Guideline
from appraisal.outdated import outdated_run
from appraisal.period_zone import MisalignedPeriods
from appraisal.periods import (
    PERIOD_KINDS,
    Period,
    check_started,
    period_between,
    run_made_early,
)
from appraisal.results import run_rows
from appraisal.runs import request_run
from core.auth import token_required
from core.db import get_session
from core.local_time import midnight, today

from .access import first_or_404, get_or_404, require_people_reader, token_owner
from .arguments import Id, ListArguments, PeriodArguments, PeriodDay, day_after
from .export import columns_of
from .listing import QueryListing, RowListing, listing
from .teams import teams_within

blp = Blueprint("appraisal_runs", __name__, url_prefix="/api/v1/runs",
                description="Appraisal runs: one period under one guideline version, and their results.")


class RunSchema(Schema):
    id = fields.Integer()
    period = fields.String(metadata={"description": ", ".join(PERIOD_KINDS)})
    first = fields.Date(data_key="from", metadata={"description": "first day of the period"})
    last = fields.Date(data_key="to", metadata={"description": "last day of the period, included"})
    label = fields.String(metadata={"description": "e.g. 'week 2026-11-02 to 2026-11-08'"})
    guideline_version = fields.Integer()
    status = fields.String(metadata={"description": ", ".join(RUN_STATUSES)})
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "why the run failed"})
    warning = fields.String(allow_none=True, metadata={
        "description": "set while the period has not ended, or for a run made before it ended: feedback that came "
                       "later is not in it"})


class OutOfDateSchema(Schema):
    arrived = fields.Integer(metadata={"description": "items of the period stored late, after the run"})
    changed = fields.Integer(metadata={"description": "items the run counted that changed since (a flag or "
                                                      "dispute decided, re-credited, revised)"})
    period_flags = fields.Integer(metadata={"description": "flags about someone's whole period that hold their "
                                                           "incentives and did not for the run (raised since), or the "
                                                           "other way round (dismissed since)"})


class RunDetailSchema(RunSchema):
    out_of_date = fields.Nested(OutOfDateSchema, allow_none=True, metadata={
        "description": "set when the period's feedback arrived or changed after this run, while it is the latest "
                       "completed run of its period: run the period again to count it"})


class RunArguments(PeriodArguments):
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    period = fields.String(validate=validate.OneOf(PERIOD_KINDS), metadata={"description": "only runs of this kind"})


class RunRequestSchema(Schema):
    first = PeriodDay(data_key="from", required=True, metadata={"description": "first day of the period"})
    last = PeriodDay(data_key="to", required=True, metadata={"description": "last day of the period, included"})
    period = fields.String(validate=validate.OneOf(PERIOD_KINDS), load_default=None, metadata={
        "description": "week, month, quarter or custom; recognised from the dates when left out"})
    guideline_version = Id(load_default=None, metadata={"description": "default: the guideline in force"})

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if data["last"] < data["first"]:
            raise ValidationError("must not be before 'from'", field_name="to")


class MetricSchema(Schema):
    value = fields.Float(allow_none=True)
    n = fields.Integer(metadata={"description": "items counted"})
    ci = fields.List(fields.Float(allow_none=True), metadata={"description": "confidence interval [low, high]"})
    sufficient = fields.Boolean(metadata={"description": "false under the guideline's minimum sample"})
    shrunk = fields.Float(allow_none=True)
    team_mean = fields.Float(allow_none=True)
    org_mean = fields.Float(allow_none=True)
    previous = fields.Float(allow_none=True)
    change = fields.Float(allow_none=True)
    target = fields.Float(allow_none=True)
    attainment = fields.String(allow_none=True, metadata={"description": "far_below, below, met or exceeded"})


class ResultRecommendationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    amount = fields.Float(allow_none=True)
    requested_amount = fields.Float(allow_none=True, metadata={
        "description": "for a bonus, what its tier or plugin gives, before the budget cap cut it"})
    status = fields.String()
    reason = fields.String()
    source = fields.String()
    run_id = fields.Integer(metadata={"description": "the run that made it: an earlier run of the period for what "
                                                     "was decided before this run (a re-run does not issue it again)"})
    guideline_version = fields.Integer(metadata={"description": "the guideline version of that run"})
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.Integer(allow_none=True, metadata={"description": "the user who decided it; null for a "
                                                                          "decision the run made itself"})
    decision_note = fields.String(allow_none=True)


class ResultSchema(Schema):
    employee_id = fields.Integer()
    employee = fields.String()
    email = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    started_on = fields.Date(allow_none=True, metadata={"description": "the day they joined, when known"})
    left_on = fields.Date(allow_none=True, metadata={"description": "the day they left, for someone who has"})
    days_worked = fields.Integer(metadata={"description": "how many of the period's days they worked: fewer "
                                                          "than it has for someone who joined or left in it"})
    state = fields.String(metadata={"description": "ok or insufficient_data"})
    composite = fields.Float(allow_none=True)
    weight_covered = fields.Float()
    rank = fields.Integer(allow_none=True, metadata={
        "description": "null when not ranked: no composite (state insufficient_data), or a composite but too "
                       "little of the period worked under the guideline's part_period"})
    percentile = fields.Float(allow_none=True)
    peers = fields.Integer()
    team_mean = fields.Float(allow_none=True)
    org_mean = fields.Float(allow_none=True)
    previous_composite = fields.Float(allow_none=True)
    change = fields.Float(allow_none=True)
    targets = fields.String(metadata={"description": "met, not_met, not_judged (too few items under every target) or no_targets"})
    attainment_streak = fields.Integer()
    open_flags = fields.Integer()
    metrics = fields.Dict(keys=fields.String(), values=fields.Nested(MetricSchema),
                          metadata={"description": "scoring rule -> the employee's metric"})
    case_mix = fields.Dict()
    training_needs = fields.List(fields.Dict())
    recommendations = fields.List(fields.Nested(ResultRecommendationSchema))


class ResultArguments(ListArguments):
    team = Id(metadata={"description": "only employees who were in this team, or a team below it, in the run"})
    employee = Id(metadata={"description": "only this employee"})


def _runs():
    return (select(AppraisalRun.id, AppraisalRun.period_kind, AppraisalRun.period_start, AppraisalRun.period_end,
                   Guideline.version, AppraisalRun.status, AppraisalRun.created_at, AppraisalRun.started_at,
                   AppraisalRun.finished_at, AppraisalRun.error)
            .join(Guideline, Guideline.id == AppraisalRun.guideline_id))


def _run_item(row) -> dict:
    period = Period(row.period_kind, row.period_start, row.period_end)
    return {"id": row.id, "period": row.period_kind, "first": period.first, "last": period.last, "label": period.label,
            "guideline_version": row.version, "status": row.status, "created_at": row.created_at,
            "started_at": row.started_at, "finished_at": row.finished_at, "error": row.error,
            "warning": run_made_early(row)}


@blp.route("/")
class Runs(MethodView):
    decorators = (token_required("appraisal:read"),)

    @blp.arguments(RunArguments, location="query")
    @listing(blp, RunSchema, name="runs")
    def get(self, args):
        """List appraisal runs, newest first; from/to keep the runs whose period lies within those days."""
        query = _runs()
        if "status" in args:
            query = query.where(AppraisalRun.status == args["status"])
        if "period" in args:
            query = query.where(AppraisalRun.period_kind == args["period"])
        if "first" in args:
            query = query.where(AppraisalRun.period_start >= midnight(args["first"]))
        if "last" in args:
            query = query.where(AppraisalRun.period_end <= day_after(args["last"]))
        return QueryListing(query.order_by(AppraisalRun.id.desc()), _run_item)


@blp.route("/")
class RunRequest(MethodView):
    decorators = (token_required("appraisal:write"),)

    @blp.arguments(RunRequestSchema)
    @blp.response(202, RunSchema, description="requested; computed in the background unless already done",
                  headers={"Location": {"description": "the run's address, to poll until it is completed",
                                        "schema": {"type": "string"}}})
    @blp.alt_response(409, response="CONFLICT",
                      description="periods made under another time zone are stored: the message says how to "
                                  "move them (`plaudit appraisal move-periods`)")
    def post(self, body):
        """Request an appraisal run of a period (audited); poll the run (its ``Location``) until it is completed."""
        # Every field at fault at once: the period, and the version (a client fixed one to be told the other).
        problems: dict[str, str] = {}
        try:
            period = period_between(body["first"], body["last"], body["period"])
        except ValueError as exc:
            problems["period" if body["period"] else "to"] = str(exc)
        else:
            try:
                check_started(period, today())
            except ValueError as exc:
                problems["from"] = str(exc)
        session = get_session()
        if body["guideline_version"]:
            try:
                guideline_version(session, body["guideline_version"])
            except GuidelineError as exc:
                problems["guideline_version"] = str(exc)
        if problems:
            abort(422, message="; ".join(f"{field}: {text}" for field, text in problems.items()),
                  errors={"json": {field: [text] for field, text in problems.items()}})
        try:
            run = request_run(session, period, actor=token_owner(),
                              guideline_version_number=body["guideline_version"])
        except GuidelineError as exc:
            session.rollback()
            abort(422, message=str(exc), errors={"json": {"guideline_version": [str(exc)]}})
        except MisalignedPeriods as exc:
            session.rollback()
            abort(409, message=str(exc))
        session.commit()  # without Redis the run is computed here, as the commit hands over its job
        return (_run_item(session.execute(_runs().where(AppraisalRun.id == run.id)).one()), 202,
                {"Location": url_for("appraisal_runs.RunById", run_id=run.id)})


@blp.route("/<int:run_id>")
class RunById(MethodView):
    decorators = (token_required("appraisal:read"),)

    @blp.response(200, RunDetailSchema)
    def get(self, run_id):
        """Get one run: its period, guideline version and status, and whether it is out of date."""
        item = _run_item(first_or_404(_runs().where(AppraisalRun.id == run_id), run_id, "run"))
        session = get_session()
        changes = outdated_run(session, session.get(AppraisalRun, run_id)) if item["status"] == "completed" else None
        return {**item, "out_of_date": changes and {"arrived": changes.arrived, "changed": changes.changed,
                                                    "period_flags": changes.period_flags}}


def _result_columns(run_id: int) -> list[str]:
    run = get_session().get(AppraisalRun, run_id)
    base = [c for c in columns_of(ResultSchema()) if c not in ("metrics", "case_mix", "training_needs",
                                                                  "recommendations")]
    per_metric = [f"metrics.{m['rule']}.{name}" for m in run.guideline.document["metrics"]
                  for name in MetricSchema().fields]
    return base + per_metric + ["case_mix", "training_needs", "recommendations"]


@blp.route("/<int:run_id>/results")
class RunResults(MethodView):
    decorators = (token_required("appraisal:read"),)

    @blp.arguments(ResultArguments, location="query")
    @blp.alt_response(409, response="CONFLICT", description="the run is not completed: queued, running or failed")
    @listing(blp, ResultSchema, name="results", columns=lambda self, args, run_id: _result_columns(run_id))
    def get(self, args, run_id):
        """List a completed run's results, best rank first, with each employee's metrics."""
        require_people_reader()
        run = get_or_404(AppraisalRun, run_id, "run")
        if run.status != "completed":
            if run.status == "failed":  # it will not complete by waiting: a failed run is retried, or re-run
                abort(409, message=f"run {run_id} failed ({run.error or 'no reason kept'}); it completes only if "
                                   f"the job outbox retries it successfully: once the cause is fixed, request "
                                   f"the period again")
            abort(409, message=f"run {run_id} is {run.status}; its results appear when it is completed")
        people = None
        if "team" in args or "employee" in args:
            people = select(AppraisalResult.employee_id).where(AppraisalResult.run_id == run.id)
            if "team" in args:
                people = people.where(AppraisalResult.team_id.in_(teams_within(args["team"])))
            if "employee" in args:
                people = people.where(AppraisalResult.employee_id == args["employee"])
        return RowListing(run_rows(get_session(), run, employees=people))
