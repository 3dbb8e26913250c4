"""Fixtures of the integrity-check tests: Ann and Bob with their identities, and the loaded checks."""
from __future__ import annotations

import pytest


@pytest.fixture
def checks(app):
    return app.extensions["plaudit.plugins"].integrity_checks


@pytest.fixture
def ann(create_employee):
    return create_employee("Ann Agent", email="ann@example.com",
                           identities=[("helpdesk", "101"), ("desk", "ann"), ("email", "ann.home@example.org")])


@pytest.fixture
def bob(create_employee):
    return create_employee("Bob Brown", email="bob@example.com", identities=[("helpdesk", "102"), ("desk", "bob")])
