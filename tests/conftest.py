"""Fixtures are split by domain under tests/fixtures and loaded here."""
pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.app",
    "tests.fixtures.org",
    "tests.fixtures.plugins",
    "tests.fixtures.shared_data",
    "tests.fixtures.mail",
    "tests.fixtures.appraisal",
    "tests.fixtures.browser",
]


import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
