"""The demo's mystery shopping: visits to demo agents, reported and approved through the real functions."""
from __future__ import annotations

from sqlalchemy import func, select

from channels.mystery_shopper.demo import VISITS, demo_steps, shop_demo
from channels.mystery_shopper.models import Assignment, Report, SectionResult
from core.db import transaction
from core.demo import DEMO_STEPS_KEY, build_organisation
from core.models import AuditEntry, Feedback


def test_the_demo_shopper_visits_demo_agents_once(app):
    assert ("sending the demo's mystery shopper", demo_steps, shop_demo) in app.extensions[DEMO_STEPS_KEY]
    with app.app_context():
        sessionmaker = app.extensions["plaudit.db"].sessionmaker
        assert shop_demo(sessionmaker) == 0  # no demo organisation, nothing to do
        with transaction() as session:
            build_organisation(session)
        ticks = []
        assert shop_demo(sessionmaker, progress=ticks.append) == len(VISITS) == sum(ticks)
        assert shop_demo(sessionmaker) == 0  # a second demo run adds nothing
        with transaction() as session:
            statuses = dict(session.execute(select(Report.status, func.count()).group_by(Report.status)).all())
            assert statuses == {"approved": len(VISITS) - 1, "submitted": 1}
            assert session.scalar(select(func.count()).select_from(Assignment)) == len(VISITS)
            scores = list(session.scalars(select(Report.score).where(Report.status == "approved")
                                          .order_by(Report.id)))
            assert scores[0] == 1.0 and all(0 < score < 1 for score in scores[1:])  # only the first was perfect
            assert session.scalar(select(func.count()).select_from(SectionResult)) > 0
            reports = session.scalar(select(func.count()).select_from(Feedback).where(
                Feedback.kind == "mystery_report", Feedback.employee_id.is_not(None)))
            assert reports == len(VISITS) - 1
            audited = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("mystery_%")))
            assert {"mystery_template.published", "mystery_assignment.created", "mystery_report.submitted",
                    "mystery_report.approved"} <= set(audited)
