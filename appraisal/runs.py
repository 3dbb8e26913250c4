"""Appraisal runs: requested in a transaction, computed by a background job, stored all at once.

A run's results are written in the same transaction that marks it completed, so a worker that dies half
way leaves nothing behind, and the outbox hands the job over again. A completed run is never recomputed
in place: re-running a period makes a new run, so decisions taken on the old one's recommendations stand.
"""
from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping
from datetime import date, timedelta

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from core import jobs, local_time
from core.bulk import insert_rows
from core.collector import collector_paused
from core.db import transaction
from core.models import Employee, Feedback, Flag, record_audit, team_on, utcnow
from core.plugins import get_plugins

from .aggregates import (
    CURRENT,
    PREVIOUS,
    MetricSpec,
    joined_after,
    metric_aggregates,
    period_aggregates,
)
from .employment import employed_in, worked
from .engine import Appraisal, EmployeeOutcome, Inputs, Person
from .guidelines import guideline_in_force, guideline_version, rule_params
from .incentives import (
    Decision,
    Proposal,
    apply_budget,
    approved_bonuses,
    net_of_approved,
    plugin_proposal,
    tier_proposals,
    training_proposals,
    without_decided,
)
from .models import (
    AppraisalResult,
    AppraisalRun,
    Guideline,
    MetricResult,
    Recommendation,
)
from .period_zone import refuse_misaligned
from .periods import Period, period_of, week_of
from .run_failures import failure_reason
from .targets import targets_in_force

log = logging.getLogger(__name__)


#: How long a queued run is taken to be still on its way to a worker, for a second request to wait for it.
STILL_WAITING = timedelta(minutes=30)


def request_run(session: Session, period: Period, *, actor=None, guideline_version_number: int | None = None
                ) -> AppraisalRun:
    """Record a run of ``period`` and ask for it to be computed once ``session`` commits.

    A run of the same period under the same version that is still queued is returned instead: it has not
    yet read the feedback, so it will see all that a second one would (a running one may have read it). Not
    one queued longer than :data:`STILL_WAITING`: its job may be lost (discarded after failing, say), and
    asking again is how HR gets the period run.

    :param guideline_version_number: the version to apply; None for the one in force.
    :raises MisalignedPeriods: while periods of another time zone are stored (:mod:`appraisal.period_zone`).
    """
    refuse_misaligned(session)
    guideline = (guideline_version(session, guideline_version_number) if guideline_version_number
                 else guideline_in_force(session))
    pending = session.scalar(select(AppraisalRun).where(
        AppraisalRun.period_kind == period.kind, AppraisalRun.period_start == period.start,
        AppraisalRun.period_end == period.end, AppraisalRun.guideline_id == guideline.id,
        AppraisalRun.status == "queued", AppraisalRun.created_at >= utcnow() - STILL_WAITING)
        .order_by(AppraisalRun.id).limit(1))
    if pending is not None:
        return pending
    run = AppraisalRun(period_kind=period.kind, period_start=period.start, period_end=period.end,
                       guideline_id=guideline.id, status="queued", requested_by=getattr(actor, "id", actor))
    session.add(run)
    session.flush()
    record_audit(session, "appraisal.requested", run, actor=actor,
                 after={"period": period.label, "guideline_version": guideline.version})
    jobs.enqueue(session, compute_run, run.id)
    return run


#: Mondays, every hour from 02:00 to 06:00 on the organisation's clock: the first asks for the week just ended,
#: the others find it there and do nothing, unless a scheduler that was down or restarting at 02:00 missed it
#: (it had waited a week).
WEEKLY_RUN_CRON = "0 2-6 * * 1"


def appraise_last_week(today: str | None = None) -> int | None:
    """Cron job: request a run of the last complete ISO week, unless one exists under the guideline in force.

    :param today: ISO date standing in for today (tests); the job normally takes the current date.
    :return: the id of the run requested, or None when there was one already.
    """
    with jobs.job_app(), transaction() as session:
        day = date.fromisoformat(today) if today else local_time.today()
        week = week_of(day - timedelta(days=7))
        guideline = guideline_in_force(session)
        # One under the guideline in force (HR's own, say), or one this schedule asked for already under any:
        # tried hourly, it would otherwise run the week again after HR published a version at 04:00.
        existing = session.scalar(select(AppraisalRun.id).where(
            AppraisalRun.period_start == week.start, AppraisalRun.period_end == week.end,
            (AppraisalRun.guideline_id == guideline.id) | AppraisalRun.requested_by.is_(None))
            .limit(1))  # a failed one is retried by the outbox
        if existing is not None:
            return None
        return request_run(session, week).id


def metric_specs(guideline: Mapping, plugins) -> list[MetricSpec]:
    return [MetricSpec(m["rule"], plugins.scoring_rules[m["rule"]], m["params"]) for m in guideline["metrics"]]


def compute_run(run_id: int) -> str:
    """Job: compute run ``run_id`` and store its results atomically; return its status.

    Safe to run again: a completed run is left as it is, and an unfinished one starts from nothing.
    """
    with jobs.job_app():
        with transaction() as session:
            run = session.get(AppraisalRun, run_id, with_for_update=True)
            if run is None or run.status == "completed":
                return run.status if run else "missing"
            run.status, run.started_at, run.attempts, run.error = "running", utcnow(), run.attempts + 1, None
        try:
            with collector_paused(), transaction() as session:
                run = session.get(AppraisalRun, run_id, with_for_update=True)
                if run.status == "completed":  # another worker finished it meanwhile
                    return run.status
                appraise_into(session, run)
                run.status, run.finished_at = "completed", utcnow()
                jobs.enqueue(session, announce_run, run.id)
        except RunImpossible as exc:  # trying again cannot help: say why, and let the job end
            _record_failure(run_id, str(exc))
            log.error("appraisal run %s cannot be computed: %s", run_id, exc)
            return "failed"
        except Exception as exc:
            _record_failure(run_id, failure_reason(run_id, exc))
            raise
    return "completed"


def _record_failure(run_id: int, error: str) -> None:
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        run.status, run.error = "failed", error


class RunImpossible(RuntimeError):
    """The run's guideline names something no longer loaded; retrying cannot help."""


def announce_run(run_id: int) -> None:
    """Job: tell the plugins a run completed (``appraisal_completed``), for reports and notifications."""
    with jobs.job_app(), transaction() as session:
        run = session.get(AppraisalRun, run_id)
        if run is not None and run.status == "completed":
            get_plugins().appraisal_completed(session, run)


# --- computing ----------------------------------------------------------------------------------------------


def appraise_into(session: Session, run: AppraisalRun) -> dict[int, EmployeeOutcome]:
    """Compute ``run`` and write its results, recommendations and employee flags into ``session``."""
    plugins = get_plugins()
    period = period_of(run)
    if session.get_bind().dialect.name == "postgresql":
        # A handful of big aggregates: compiling them costs more than it saves, and their sorts and hashes
        # (thousands of groups) should stay in memory. SET LOCAL ends with the run's transaction.
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        # Two runs of one period computing at once would each miss what the other decides, and both issue a
        # recognition that needs no approval: they take turns, per period, until the transaction ends. (SQLite
        # has one writer at a time already.)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _period_lock(period)})
    guideline: Guideline = run.guideline
    document = guideline.document
    missing = sorted({m["rule"] for m in document["metrics"]} - set(plugins.scoring_rules))
    if missing:
        raise RunImpossible(f"guideline v{guideline.version} uses scoring rule(s) {', '.join(missing)}, which no "
                            f"loaded plugin provides; load the plugin again or publish a guideline without them")
    session.execute(delete(Recommendation).where(Recommendation.run_id == run.id))
    session.execute(delete(MetricResult).where(MetricResult.run_id == run.id))
    session.execute(delete(AppraisalResult).where(AppraisalResult.run_id == run.id))
    # When the run reads the organisation: what changes after this it does not show (appraisal/outdated.py). The
    # first transaction's time came before waiting for another run of the period.
    run.started_at = utcnow()
    run.feedback_watermark = session.scalar(select(func.max(Feedback.id)))

    raise_period_flags(session, document, period, plugins)
    specs, inputs, case_mix = appraisal_inputs(session, document, period, run.feedback_watermark or 0, plugins)
    outcomes = Appraisal(document, specs, case_mix).run(inputs)
    _store(session, run, guideline, outcomes, plugins)
    return outcomes


def _period_lock(period: Period) -> int:
    """A stable 64-bit key for PostgreSQL's advisory lock of one period's runs."""
    name = f"plaudit appraisal {period.kind} {period.start.isoformat()} {period.end.isoformat()}"
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def appraisal_inputs(session: Session, document: Mapping, period: Period, up_to: int, plugins
                     ) -> tuple[list[MetricSpec], Inputs, MetricSpec | None]:
    """Read what an appraisal of ``period`` under ``document`` needs, counting items up to id ``up_to``.

    Reads only, so a draft guideline can be appraised without storing anything (see :mod:`appraisal.preview`).

    :return: the metric specs, the inputs, and the case-mix metric, as :class:`Appraisal` takes them.
    """
    specs = metric_specs(document, plugins)
    # Each in the team they were in on the period's last day: one moved since is not counted in their new team.
    people = [Person(pid, team, worked(period, started_on, left_on))
              for pid, team, started_on, left_on in session.execute(
                  select(Employee.id, team_on(period.last), Employee.started_on, Employee.left_on)
                  .where(employed_in(period)).order_by(Employee.id))]
    case_mix_spec = next((s for s in specs if s.name == document["case_mix_metric"]), None)
    if case_mix_spec is None and document["case_mix_metric"] in plugins.scoring_rules:
        rule = plugins.scoring_rules[document["case_mix_metric"]]
        case_mix_spec = MetricSpec(rule.name, rule, rule_params(document, rule))
    # Every read counts items up to the watermark only: one snapshot, whatever arrives during the run.
    # Items credited to someone from before they joined were not theirs: they count for nobody.
    previous = period.previous()
    current = period_aggregates(session, specs, period.start, period.end, up_to, case_mix=case_mix_spec,
                                joined=joined_after(session, period.first, period.last))
    inputs = Inputs(
        people=people,
        aggregates={CURRENT: current.metrics,
                    PREVIOUS: metric_aggregates(session, specs, previous.start, previous.end, up_to,
                                                joined=joined_after(session, previous.first, period.last))[0]},
        targets=targets_in_force(session, [s.name for s in specs], period, people),
        previous_streaks=_previous_streaks(session, period),
        open_flags=_open_flags(session, period, current.quarantined),
        categories=current.categories,
        training_needs=plugin_training_needs(session, document, period, up_to, [p.id for p in people], plugins),
    )
    return specs, inputs, case_mix_spec


def plugin_training_needs(session: Session, document: Mapping, period: Period, up_to: int,
                          employee_ids: list[int], plugins) -> dict[int, list[dict]]:
    """The training needs plugins find in their own data (such as weak mystery-report sections), checked.

    A need that is not what the ``training_needs`` hook promises is refused and logged, and the run goes on
    without it; needs about employees not appraised are left out.
    """
    wanted = set(employee_ids)
    found: dict[int, list[dict]] = {}
    for source, answer in plugins.training_needs(session, period.start, period.end, up_to, employee_ids,
                                                 dict(document["training"])):
        if not isinstance(answer, Mapping):
            log.error("plugin %s answered training_needs with %r and it was refused: answer "
                      "{employee_id: [need, ...]}", source, answer)
            continue
        for employee_id, needs in answer.items():
            if employee_id not in wanted:
                continue
            for raw in needs if isinstance(needs, list | tuple) else [needs]:
                need = _training_need(raw)
                if need is None:
                    log.error("plugin %s found the training need %r for employee %s and it was refused: a need "
                              "has area, name and metric (text), value, benchmark and gap (numbers) and n "
                              "(a whole number)", source, raw, employee_id)
                else:
                    found.setdefault(employee_id, []).append(need)
    return found


def _training_need(raw) -> dict | None:
    """``raw`` as a stored training need (those keys only), or None when it is malformed."""
    if not isinstance(raw, Mapping):
        return None
    texts = {key: raw.get(key) for key in ("area", "name", "metric")}
    numbers = {key: raw.get(key) for key in ("value", "benchmark", "gap")}
    n, people = raw.get("n"), raw.get("org_people")
    if (not all(isinstance(words, str) and words for words in texts.values())
            or not all(isinstance(number, int | float) and not isinstance(number, bool) and math.isfinite(number)
                       for number in numbers.values())
            or not _count(n) or (people is not None and not _count(people))):
        return None
    # org_people (optional): how many people the benchmark pools, so an employee is not shown one colleague's.
    return {**texts, **{key: float(number) for key, number in numbers.items()}, "n": n,
            **({"org_people": people} if people is not None else {})}


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def period_findings(session: Session, document: Mapping, period: Period, plugins) -> list[tuple[str, int, str]]:
    """What the checks ``document`` enables find in ``period`` as a whole: ``(check, employee_id, reason)``."""
    settings = document.get("integrity", {})
    found = []
    for slug, check in sorted(plugins.integrity_checks.items()):
        chosen = settings.get(slug, {"enabled": True, "params": {}})
        if chosen.get("enabled", True):
            params = check.load_params(chosen.get("params"))
            found += [(slug, employee_id, reason)
                      for employee_id, reason in check.inspect_period(session, period.start, period.end, params)]
    return found


def raise_period_flags(session: Session, document: Mapping, period: Period, plugins) -> int:
    """Run the enabled checks' period inspections; flag each employee found, once per check and period."""
    found = period_findings(session, document, period, plugins)
    if not found:
        return 0
    existing = set(session.execute(select(Flag.check, Flag.employee_id).where(
        Flag.employee_id.is_not(None), Flag.period_start == period.start, Flag.period_end == period.end)).all())
    new = [Flag(check=slug, employee_id=employee_id, period_start=period.start, period_end=period.end,
                reason=reason) for slug, employee_id, reason in found if (slug, employee_id) not in existing]
    session.add_all(new)
    session.flush()
    for flag in new:
        record_audit(session, "flag.raised", flag, after={"employee_id": flag.employee_id, "check": flag.check,
                                                          "period": period.label, "reason": flag.reason})
    return len(new)


def _previous_streaks(session: Session, period: Period) -> dict[int, int]:
    before = session.scalar(select(AppraisalRun.id).where(
        AppraisalRun.status == "completed", AppraisalRun.period_kind == period.kind,
        AppraisalRun.period_end == period.start).order_by(AppraisalRun.id.desc()).limit(1))
    if before is None:
        return {}
    return dict(session.execute(select(AppraisalResult.employee_id, AppraisalResult.attainment_streak)
                                .where(AppraisalResult.run_id == before)).all())


def _open_flags(session: Session, period: Period, quarantined: Mapping[int | None, int]) -> dict[int, int]:
    """Per employee: their quarantined items of the period (an item stays quarantined while a flag on it is
    undecided), plus the open or upheld flags on their period as a whole."""
    counts = {employee_id: count for employee_id, count in quarantined.items() if employee_id and count}
    on_periods = (select(Flag.employee_id, func.count())
                  .where(Flag.employee_id.is_not(None), Flag.decision.is_distinct_from("dismissed"),
                         Flag.period_start < period.end, Flag.period_end > period.start)
                  .group_by(Flag.employee_id))
    for employee_id, count in session.execute(on_periods):
        counts[employee_id] = counts.get(employee_id, 0) + count
    return counts


def result_values(outcome: EmployeeOutcome) -> dict:
    """The columns of one employee's ``AppraisalResult`` (all but the run)."""
    o = outcome
    return {"employee_id": o.employee_id, "team_id": o.team_id, "state": o.state, "composite": o.composite,
            "weight_covered": o.weight_covered, "rank": o.rank, "percentile": o.percentile, "peers": o.peers,
            "team_mean": o.team_mean, "org_mean": o.org_mean, "previous_composite": o.previous_composite,
            "change": o.change, "targets_state": o.targets_state, "attainment_streak": o.attainment_streak,
            "open_flags": o.open_flags, "case_mix": o.case_mix, "training_needs": o.training_needs}


def propose(session: Session, guideline: Guideline, outcomes: Mapping[int, EmployeeOutcome], results, plugins,
            period: Period, run_id: int | None) -> list[Proposal]:
    """What ``guideline`` recommends on these outcomes: its tiers, training, the plugins', under the budget;
    nothing for someone who has left.

    What the period's other runs had decided stands: what was approved, or rejected by a person, is not
    proposed again, and an employee already paid a bonus gets only the difference. A rejection no person
    made (a proposal superseded by a later run, a bonus the cap left unfunded) decides nothing.

    :param results: the outcomes as ``AppraisalResult`` rows, in employee order, for the ``recommend`` hook.
    :param run_id: the run proposing; decisions on the period's other runs are read, bonuses approved are spent.
        None (the guideline preview, which proposes as a new run would) reads the decisions of every run.
    """
    document = guideline.document
    proposals: list[Proposal] = tier_proposals(outcomes.values(), document)
    titles = {slug: rule.title for slug, rule in plugins.scoring_rules.items()}
    proposals += training_proposals(outcomes.values(), document, titles)
    for result in results:
        for source, raw in plugins.recommendations(result, guideline):
            proposal = plugin_proposal(result.employee_id, source, raw)
            if proposal is not None:
                proposals.append(proposal)
    earlier = (select(Recommendation.employee_id, Recommendation.kind, Recommendation.source,
                      Recommendation.reason, Recommendation.amount, Recommendation.status)
               .join(AppraisalRun, AppraisalRun.id == Recommendation.run_id)
               .where(AppraisalRun.period_start == period.start, AppraisalRun.period_end == period.end,
                      AppraisalRun.id != run_id,
                      or_(Recommendation.status == "approved",
                          and_(Recommendation.status == "rejected", Recommendation.decided_by.is_not(None))))
               .order_by(Recommendation.id))
    decisions = [Decision(r.employee_id, r.kind, r.source, r.reason, r.amount, r.status == "approved")
                 for r in session.execute(earlier)]
    # Someone who has left is appraised for the periods they worked in, and stands among their peers, but is
    # offered nothing: no bonus to pay them, no coaching or training to give, and the budget goes to the others.
    # (The few who have left, against the thousands of ids a run's outcomes would bind.)
    gone = set(session.scalars(select(Employee.id).where(~Employee.active))) & outcomes.keys()
    proposals = [p for p in proposals if p.employee_id not in gone]
    approved = approved_bonuses(decisions)  # paid already, and counted against the cap
    funded = apply_budget(net_of_approved(without_decided(proposals, decisions), approved), outcomes, document,
                          spent=sum(approved.values()))
    # A top-up the cap leaves at nothing is no rejection: the bonus approved before stands, and is shown.
    return [p for p in funded if not (p.kind == "bonus" and not p.amount and (p.employee_id, p.source) in approved)]


def _store(session: Session, run: AppraisalRun, guideline: Guideline, outcomes: Mapping[int, EmployeeOutcome],
           plugins) -> None:
    document = guideline.document
    # Thousands of rows each: one statement per table (see core.bulk).
    insert_rows(session, AppraisalResult, [{"run_id": run.id, **result_values(o)} for _, o in sorted(outcomes.items())])
    insert_rows(session, MetricResult, [{"run_id": run.id, "employee_id": employee_id, **vars(metric)}
                                        for employee_id, o in sorted(outcomes.items()) for metric in o.metrics.values()])

    results = (session.scalars(select(AppraisalResult).where(AppraisalResult.run_id == run.id)
                               .order_by(AppraisalResult.employee_id)) if plugins.recommends else ())
    proposals = propose(session, guideline, outcomes, results, plugins, period_of(run), run.id)
    now = utcnow()
    needing = set(document["approval_required"])
    rows = []
    for p in proposals:
        if p.kind == "bonus" and not p.amount:  # kept, so HR sees who qualified, but nothing to approve
            status, note = "rejected", "not funded: the budget cap was reached"
        elif p.kind in needing:
            status, note = "proposed", None
        else:
            status, note = "approved", f"guideline v{guideline.version}: needs no approval"
        rows.append({"run_id": run.id, "employee_id": p.employee_id, "kind": p.kind, "source": p.source,
                     "amount": p.amount, "requested_amount": p.requested_amount, "reason": p.reason,
                     "needs_approval": p.kind in needing, "status": status,
                     "decided_at": None if status == "proposed" else now, "decision_note": note})
    insert_rows(session, Recommendation, rows)
    _supersede_earlier_proposals(session, run, now)


def _supersede_earlier_proposals(session: Session, run: AppraisalRun, now) -> None:
    """Earlier runs of the same period lose their undecided proposals, so a re-run never pays twice over.

    A run that completes after a later-requested run of its period (a retry that came late) is the one
    superseded instead: the latest request stands.
    """
    same_period = (AppraisalRun.period_start == run.period_start, AppraisalRun.period_end == run.period_end)
    later = session.scalar(select(func.max(AppraisalRun.id)).where(
        *same_period, AppraisalRun.id > run.id, AppraisalRun.status == "completed"))
    if later is not None:
        targets, by = Recommendation.run_id == run.id, later
    else:
        targets, by = Recommendation.run_id.in_(select(AppraisalRun.id).where(*same_period,
                                                                              AppraisalRun.id < run.id)), run.id
    superseded = session.execute(
        update(Recommendation).where(Recommendation.status == "proposed", targets)
        .values(status="rejected", decided_at=now, decision_note=f"superseded by run {by}")
        .execution_options(synchronize_session=False)).rowcount
    if superseded:
        record_audit(session, "recommendations.superseded", run, after={"superseded": superseded, "by_run": by})
