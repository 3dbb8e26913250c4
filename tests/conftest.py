"""Fixtures are split by domain under tests/fixtures and loaded here."""
pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.app",
    "tests.fixtures.org",
    "tests.fixtures.plugins",
    "tests.fixtures.shared_data",
    "tests.fixtures.mail",
]
