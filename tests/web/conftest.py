"""Fixtures of the web tests that more than one file uses."""
from .admin_support import accounts  # noqa: F401 (a fixture)
