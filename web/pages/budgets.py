"""A run's bonus budget as its approvals page shows it: the cap, what its period approved, what awaits a
decision, and what periods overlapping it paid already."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, false, func, or_, select

from appraisal.models import AppraisalRun, Guideline, Recommendation


@dataclass(frozen=True)
class Budget:
    """A run's bonus budget: the guideline's cap, what the period has approved, what still awaits a decision."""

    cap: float | None
    currency: str
    approved: float
    awaiting: float
    #: bonuses approved for other periods that overlap this one ((kind, start, end, amount)), each under a cap
    #: of its own: a custom period over an appraised month would pay its bonuses again without a word
    overlapping: tuple = ()

    @property
    def left(self) -> float | None:
        return None if self.cap is None else max(self.cap - self.approved, 0.0)

    @property
    def over(self) -> float | None:
        """How far the period's approved bonuses pass this run's cap (a cap lowered in a later guideline version,
        or bonuses of two runs approved together); None when within it."""
        if self.cap is None or self.approved - self.cap < 0.005:
            return None
        return self.approved - self.cap



def runs_and_budgets(session, run_ids: set[int]) -> tuple[dict, dict[int, Budget]]:
    """The runs on the page with their guideline, and each one's budget; four queries however many runs.

    The budget is the organisation's, so a manager sees how much of it is spent, though not on whom.
    """
    runs = {run.id: run for run in session.execute(
        select(AppraisalRun.id, AppraisalRun.period_kind, AppraisalRun.period_start, AppraisalRun.period_end,
               AppraisalRun.started_at, AppraisalRun.created_at, Guideline.version, Guideline.document)
        .join(Guideline, Guideline.id == AppraisalRun.guideline_id).where(AppraisalRun.id.in_(run_ids)))}
    periods = {(run.period_start, run.period_end) for run in runs.values()}
    bonus = Recommendation.kind == "bonus"
    approved = {(start, end): float(amount or 0) for start, end, amount in session.execute(
        select(AppraisalRun.period_start, AppraisalRun.period_end, func.sum(Recommendation.amount))
        .join(AppraisalRun, AppraisalRun.id == Recommendation.run_id)
        .where(bonus, Recommendation.status == "approved",
               AppraisalRun.period_start.in_(sorted({start for start, _ in periods})))
        .group_by(AppraisalRun.period_start, AppraisalRun.period_end))}
    awaiting = dict(session.execute(
        select(Recommendation.run_id, func.sum(Recommendation.amount))
        .where(and_(bonus, Recommendation.status == "proposed", Recommendation.run_id.in_(run_ids)))
        .group_by(Recommendation.run_id)).all())
    overlapping = session.execute(
        select(AppraisalRun.period_kind, AppraisalRun.period_start, AppraisalRun.period_end,
               func.sum(Recommendation.amount))
        .join(AppraisalRun, AppraisalRun.id == Recommendation.run_id)
        .where(bonus, Recommendation.status == "approved",
               or_(*(and_(AppraisalRun.period_start < end, AppraisalRun.period_end > start,
                          or_(AppraisalRun.period_start != start, AppraisalRun.period_end != end))
                     for start, end in periods)) if periods else false())
        .group_by(AppraisalRun.period_kind, AppraisalRun.period_start, AppraisalRun.period_end)
        .order_by(AppraisalRun.period_start)).all()
    budgets = {}
    for run_id, run in runs.items():
        settings = run.document["incentives"]["budget"]
        budgets[run_id] = Budget(settings["cap"], settings.get("currency", "EUR"),
                                 approved.get((run.period_start, run.period_end), 0.0),
                                 float(awaiting.get(run_id) or 0),
                                 tuple((kind, start, end, float(amount or 0)) for kind, start, end, amount in overlapping
                                       if start < run.period_end and end > run.period_start
                                       and (start, end) != (run.period_start, run.period_end)))
    return runs, budgets
