"""What the admin pages' tests share: an account of each role, and the audit entries of one action."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from core.db import transaction
from core.models import AuditEntry, Employee, Team, User
from tests.fixtures.org import PASSWORD

PASSWORD_HASH = generate_password_hash(PASSWORD)


@pytest.fixture
def accounts(app) -> dict[str, int]:
    """An admin, HR, a manager and an employee, by role, as user ids.

    Made in an app context of their own that is closed again, so that each request opens and closes its
    own session as in production (SQLite: a request that only read holds no lock afterwards).
    """
    with app.app_context(), transaction() as session:
        lead, agent = Employee(name="Mia Manager", email="mia@example.com"), Employee(name="Ann", email="ann@example.com")
        team = Team(name="Support", slug="support")
        session.add_all([lead, agent, team])
        session.flush()
        team.manager_id, agent.team_id = lead.id, team.id
        users = {}
        for role, email, employee in (("admin", "admin@example.com", None), ("hr", "hr@example.com", None),
                                      ("manager", "mia@example.com", lead), ("employee", "ann@example.com", agent)):
            user = User(email=email, name=role.title(), employee=employee, password_hash=PASSWORD_HASH)
            user.roles = [role]
            session.add(user)
            users[role] = user
        session.flush()
        return {role: user.id for role, user in users.items()}


def audited(app, action: str) -> list[AuditEntry]:
    with app.app_context(), transaction() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
