"""The database itself refuses an employee both active and gone, or gone before they joined (migration 0025)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from core.db import make_engine
from core.migrate import upgrade
from core.models import Employee


@pytest.mark.parametrize("active, started_on, left_on", [
    (True, None, date(2026, 11, 20)),  # employed, with a day they left
    (False, date(2026, 11, 21), date(2026, 11, 20)),  # left the day before they joined
])
def test_an_employee_no_rule_allows_is_refused_by_the_database(session, active, started_on, left_on):
    session.add(Employee(name="Lea", active=active, started_on=started_on, left_on=left_on))
    with pytest.raises(IntegrityError, match="left_only_when_inactive|joined_before_left"):
        session.flush()
    session.rollback()
    session.add(Employee(name="Lea", active=False, started_on=date(2026, 11, 20), left_on=date(2026, 11, 20)))
    session.flush()  # joined and left on one day: allowed


def test_migration_0025_mends_the_rows_that_break_either_rule(migration_urls):
    for url in migration_urls:
        upgrade(url, "0024")
        engine = make_engine(url)
        with engine.begin() as conn:
            for name, active, started_on, left_on in (
                    ("employed and gone", True, None, "2026-11-20"), ("gone before joining", False, "2026-11-21",
                                                                      "2026-11-20"),
                    ("fine", False, "2026-11-01", "2026-11-20"), ("deactivated without a day", False, None, None)):
                conn.execute(text("INSERT INTO employees (name, active, started_on, left_on, created_at) "
                                  "VALUES (:name, :active, :started_on, :left_on, '2026-11-02')"),
                             {"name": name, "active": active, "started_on": started_on, "left_on": left_on})
        engine.dispose()
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(select(Employee.name, Employee.active, Employee.started_on, Employee.left_on)
                                .order_by(Employee.id)).all()
        engine.dispose()
        assert [tuple(row) for row in rows] == [
            ("employed and gone", True, None, None), ("gone before joining", False, None, date(2026, 11, 20)),
            ("fine", False, date(2026, 11, 1), date(2026, 11, 20)), ("deactivated without a day", False, None, None)]
