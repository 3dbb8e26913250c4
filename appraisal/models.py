"""The appraisal module's tables: guideline versions, targets, runs, their results and recommendations."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models import Base, utcnow
from core.models.base import JSONType

RUN_STATUSES = ("queued", "running", "completed", "failed")
RECOMMENDATION_STATUSES = ("proposed", "approved", "rejected")


class Guideline(Base):
    """One version of HR's appraisal guideline. Versions are never edited: an edit publishes a new one."""

    __tablename__ = "guidelines"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    #: The document as validated by :class:`appraisal.guideline_schema.GuidelineSchema` (defaults filled in).
    document: Mapped[dict]
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Guideline v{self.version}>"


class Target(Base):
    """A manager's target for one metric over a period, for one employee or a whole team."""

    __tablename__ = "targets"
    __table_args__ = (
        CheckConstraint("(employee_id IS NULL) <> (team_id IS NULL)", name="one_subject"),
        Index("ix_targets_metric_period", "metric", "period_start", "period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(50))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AppraisalRun(Base):
    """One appraisal of one period under one guideline version; its results appear all at once or not at all."""

    __tablename__ = "appraisal_runs"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in RUN_STATUSES)})", name="known_status"),
        Index("ix_appraisal_runs_period", "period_start", "period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_kind: Mapped[str] = mapped_column(String(10))  # week | month | quarter | custom
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]  # exclusive
    guideline_id: Mapped[int] = mapped_column(ForeignKey("guidelines.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    #: The highest feedback id when the results were computed, so lineage can tell later arrivals apart.
    feedback_watermark: Mapped[int | None]

    guideline: Mapped[Guideline] = relationship()

    def __repr__(self) -> str:
        return f"<AppraisalRun {self.id} {self.period_kind} {self.period_start:%Y-%m-%d} {self.status}>"


class AppraisalResult(Base):
    """One employee's outcome in a run: composite, standing among peers, change, case mix, training needs."""

    __tablename__ = "appraisal_results"
    __table_args__ = (UniqueConstraint("run_id", "employee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("appraisal_runs.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    #: ok | insufficient_data (too little of the weight has enough items to rank)
    state: Mapped[str] = mapped_column(String(20))
    composite: Mapped[float | None] = mapped_column(Float)
    #: The share of the guideline's weight whose metrics had enough data, 0-100.
    weight_covered: Mapped[float] = mapped_column(Float)
    rank: Mapped[int | None]
    percentile: Mapped[float | None] = mapped_column(Float)
    peers: Mapped[int]
    team_mean: Mapped[float | None] = mapped_column(Float)
    org_mean: Mapped[float | None] = mapped_column(Float)
    previous_composite: Mapped[float | None] = mapped_column(Float)
    change: Mapped[float | None] = mapped_column(Float)
    #: met | not_met | not_judged (too few items under every target) | no_targets: whether every target in
    #: force was met or exceeded.
    targets_state: Mapped[str] = mapped_column(String(10))
    #: Consecutive periods of the same kind, this one included, in which every target was met.
    attainment_streak: Mapped[int] = mapped_column(default=0)
    open_flags: Mapped[int] = mapped_column(default=0)
    #: [{"category", "n", "value", "org_value"}] plus the case-mix expectation; see appraisal.case_mix.
    case_mix: Mapped[dict] = mapped_column(default=dict)
    #: [{"area", "name", "value", "benchmark", "n", "gap"}], weakest first.
    training_needs: Mapped[list] = mapped_column(JSONType, default=list)

    run: Mapped[AppraisalRun] = relationship()
    employee = relationship("Employee")


class MetricResult(Base):
    """One metric of one employee in a run, with everything needed to judge and explain it."""

    __tablename__ = "metric_results"
    __table_args__ = (UniqueConstraint("run_id", "employee_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("appraisal_runs.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(50))
    weight: Mapped[float] = mapped_column(Float)
    n: Mapped[int]
    value: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    #: False below the guideline's minimum sample: shown, never ranked or counted in the composite.
    sufficient: Mapped[bool]
    shrunk: Mapped[float | None] = mapped_column(Float)
    #: The shrunk value on 0-100, higher better, as it enters the composite.
    normalised: Mapped[float | None] = mapped_column(Float)
    team_mean: Mapped[float | None] = mapped_column(Float)
    org_mean: Mapped[float | None] = mapped_column(Float)
    previous_value: Mapped[float | None] = mapped_column(Float)
    previous_n: Mapped[int] = mapped_column(default=0)
    change: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("targets.id", ondelete="SET NULL"))
    #: far_below | below | met | exceeded; None without a target or without enough data.
    attainment: Mapped[str | None] = mapped_column(String(10))


class Recommendation(Base):
    """What the guideline recommends for one employee after a run: a bonus, recognition, coaching, training."""

    __tablename__ = "recommendations"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in RECOMMENDATION_STATUSES)})",
                        name="known_status"),
        CheckConstraint("kind IN ('bonus', 'recognition', 'coaching', 'training')", name="known_kind"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="no_negative_amount"),
        Index("ix_recommendations_run_employee", "run_id", "employee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("appraisal_runs.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: The guideline tier that gave it, or the plugin / rule that proposed it.
    source: Mapped[str] = mapped_column(String(100))
    amount: Mapped[float | None] = mapped_column(Float)
    #: The amount the tier offered before the budget cap was applied.
    requested_amount: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    needs_approval: Mapped[bool]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


DIGEST_KINDS = ("employee", "team")


class DigestDelivery(Base):
    """One weekly digest e-mail of a run to one recipient: their own report, or the team report they lead.

    Recorded when the digest is planned and marked when sent, so no digest goes twice for the same run.
    """

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("run_id", "recipient_id", "kind"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in DIGEST_KINDS)})", name="known_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("appraisal_runs.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    #: The address when the digest was planned (an address changed meanwhile does not get it twice).
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(300))
