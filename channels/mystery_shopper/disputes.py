"""Disputes on a mystery report: its items stand or fall together, and a reassignment moves the report too.

An approved report is one ``mystery_report`` item and one ``mystery_section`` item per section, each naming
the report in its payload. A dispute is about the visit, so it is about all of them; and when it credits the
visit to someone else, the report says they served, which the section results (training needs) follow.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.models import Dispute, Feedback, record_audit

from .models import Report
from .results import served_employee

CHANNEL = "mystery_shopper"


def _report_id(item: Feedback) -> int | None:
    """The report an item of this channel was ingested from, or None for anyone else's item."""
    if item.channel != CHANNEL:
        return None
    report_id = (item.payload or {}).get("report_id")
    return report_id if isinstance(report_id, int) else None


def report_items(session: Session, item: Feedback) -> list[int]:
    """The ids of the other items of ``item``'s report (``report-<id>`` and ``report-<id>:<section>``)."""
    report_id = _report_id(item)
    if report_id is None:
        return []
    external_id = f"report-{report_id}"
    return list(session.scalars(
        select(Feedback.id).where(Feedback.channel == CHANNEL, Feedback.id != item.id,
                                  or_(Feedback.external_id == external_id,
                                      Feedback.external_id.startswith(f"{external_id}:", autoescape=True)))))


def follow_dispute(session: Session, dispute: Dispute, items: Iterable[Feedback]) -> None:
    """When a dispute credited a report's items to another employee, record on the report that they served.

    An exclusion or a rejection changes nothing here: an excluded report's section results no longer count
    because its ``mystery_section`` items are not accepted.
    """
    if dispute.status != "upheld" or dispute.reassigned_to is None:
        return
    report_ids = {report_id for report_id in map(_report_id, items) if report_id is not None}
    if not report_ids:
        return
    reports = session.scalars(select(Report).where(Report.id.in_(report_ids)).order_by(Report.id)
                              .with_for_update())
    for report in reports:
        if served_employee(report) == dispute.reassigned_to:
            continue
        before, report.served_by = report.served_by, dispute.reassigned_to
        record_audit(session, "mystery_report.reassigned", report, actor=dispute.decided_by,
                     before={"served_by": before}, after={"served_by": report.served_by},
                     note=f"dispute {dispute.id}: {dispute.outcome}")
