"""Fault tests marked ``faults`` stop and restart servers of their own; they run on demand only.

``python -m tests.faults.run`` (or ``pytest tests/faults -m faults``) runs them; the normal suite skips them.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .servers import PrivateRedis

ARTIFACTS = Path(os.environ.get("PLAUDIT_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
#: Where each scenario leaves its figures for ``tests.faults.run`` to write into docs/performance.md.
FIGURES = ARTIFACTS / "faults"


def pytest_configure(config):
    config.addinivalue_line("markers", "faults: stops and restarts private servers; run on demand")


def pytest_collection_modifyitems(config, items):
    wanted = "faults" in (config.getoption("markexpr") or "") or os.environ.get("FAULT_TESTS") == "1"
    if wanted:
        return
    skip = pytest.mark.skip(reason="a fault test: run it with `python -m tests.faults.run`")
    for item in items:
        if item.get_closest_marker("faults"):
            item.add_marker(skip)


@pytest.fixture
def record_figures(request):
    """Return ``record(scenario, **figures)``, which keeps a scenario's figures for the docs."""
    def record(scenario: str, **figures) -> None:
        backend = request.node.callspec.params.get("database", "postgresql") \
            if hasattr(request.node, "callspec") else "postgresql"
        FIGURES.mkdir(parents=True, exist_ok=True)
        (FIGURES / f"{scenario}-{backend}.json").write_text(json.dumps(
            {"scenario": scenario, "backend": backend, **figures}, indent=2, default=str))
    return record


@pytest.fixture
def private_redis():
    """A Redis server of this test's own, which it may kill and start again."""
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
