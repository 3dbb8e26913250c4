"""The mystery-shopper channel's tables: report templates (versioned), assignments, reports and their results.

A template version never changes once an assignment uses it; an edit publishes a new version, and a report
keeps the version it was filled against. Per-question and per-section results are stored at approval so
training needs can read the weakest sections and questions in SQL.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models import Base, utcnow

ASSIGNMENT_STATUSES = ("assigned", "cancelled")
REPORT_STATUSES = ("draft", "submitted", "returned", "approved")


class ReportTemplate(Base):
    """One version of a mystery-shopper questionnaire: sections with weights, questions, points, skip logic."""

    __tablename__ = "ms_templates"
    __table_args__ = (UniqueConstraint("slug", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    #: {"sections": [...], "questions": [...]}, as validated by channels.mystery_shopper.template.
    document: Mapped[dict] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<ReportTemplate {self.slug} v{self.version}>"


class Assignment(Base):
    """A shopper sent to serve as a customer of one employee, or of a location (the report names who served)."""

    __tablename__ = "ms_assignments"
    __table_args__ = (
        CheckConstraint("(employee_id IS NOT NULL) OR (location IS NOT NULL)", name="has_subject"),
        CheckConstraint("visit_from < visit_until", name="visit_window"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in ASSIGNMENT_STATUSES)})", name="known_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("ms_templates.id", ondelete="RESTRICT"), index=True)
    shopper_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"), index=True)
    location: Mapped[str | None] = mapped_column(String(200))
    #: Which of the template's visit types this visit is (e.g. "enquiry"): questions of other types are N/A.
    #: None: every question applies.
    visit_type: Mapped[str | None] = mapped_column(String(30))
    scenario: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    visit_from: Mapped[datetime]
    visit_until: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="assigned")
    #: The agency's own reference, when an agency created it through the API (unique per agency token owner).
    external_ref: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    template: Mapped[ReportTemplate] = relationship()
    report: Mapped[Report | None] = relationship(back_populates="assignment", uselist=False)


class Report(Base):
    """What the shopper reported for one assignment: answers, proof of visit, and the review's outcome."""

    __tablename__ = "ms_reports"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in REPORT_STATUSES)})", name="known_status"),
        Index("ix_ms_reports_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("ms_assignments.id", ondelete="CASCADE"), unique=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("ms_templates.id", ondelete="RESTRICT"))
    #: {question key: answer}: a choice key, a list of choice keys, a number, an ISO date-time or text.
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    visited_at: Mapped[datetime | None]
    receipt_number: Mapped[str | None] = mapped_column(String(100))
    #: The proof photo (``photo:<name>``, a :class:`ProofPhoto`; ``mystery_photos/<file>`` in the instance
    #: folder for photos kept before they moved into the database), never served publicly; and its type.
    photo_path: Mapped[str | None] = mapped_column(String(300))
    photo_type: Mapped[str | None] = mapped_column(String(50))
    #: The shopper's integrity answers, e.g. {"identity_revealed": false, "knows_employee": false}.
    integrity: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Who served, for an assignment to a location (the assignment's employee otherwise).
    served_by: Mapped[int | None] = mapped_column(ForeignKey("employees.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    submitted_at: Mapped[datetime | None]
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    review_comment: Mapped[str | None] = mapped_column(Text)
    #: The report's score, 0-1, set at approval (None while unapproved).
    score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    assignment: Mapped[Assignment] = relationship(back_populates="report")
    template: Mapped[ReportTemplate] = relationship()


class SectionResult(Base):
    """One section of an approved report: its points, its score and the weight it carried."""

    __tablename__ = "ms_section_results"
    __table_args__ = (UniqueConstraint("report_id", "section"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("ms_reports.id", ondelete="CASCADE"))
    section: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float)
    points: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)
    #: points / max points, 0-1 (0 when a critical question failed and zeroes the section); None when N/A.
    score: Mapped[float | None] = mapped_column(Float)


class QuestionResult(Base):
    """One question of an approved report: the points earned of the points possible, or not applicable."""

    __tablename__ = "ms_question_results"
    __table_args__ = (UniqueConstraint("report_id", "question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("ms_reports.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(50))
    section: Mapped[str] = mapped_column(String(100))
    points: Mapped[float | None] = mapped_column(Float)
    max_points: Mapped[float | None] = mapped_column(Float)
    applicable: Mapped[bool]
    critical_failed: Mapped[bool] = mapped_column(default=False)


class ProofPhoto(Base):
    """A photo a shopper attached to a report, kept in the database: every web process serves it, and a
    backup of the database holds it (in the instance folder it was one host's, and outside the backup)."""

    __tablename__ = "ms_photos"

    #: Random, so a report's answers can name it without revealing anything.
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(50))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
