"""Helpers shared by the social sources tests."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db import transaction
from core.models import User

HR_EMAIL = "hr@example.com"


@pytest.fixture
def make_hr():
    """Return ``make(app) -> id``: the HR account that sets up sources in ``app``'s database, made once."""
    def make(app) -> int:
        with app.app_context(), transaction() as session:
            found = session.scalar(select(User.id).where(User.email == HR_EMAIL))
            if found is not None:
                return found
            user = User(email=HR_EMAIL, name="Hr", active=True)
            user.roles = ("hr",)
            user.set_password("a long enough password")
            session.add(user)
            session.flush()
            return user.id
    return make
