"""The README's two commands are the ones CI and new users run."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    return re.findall(r"```sh\n(python3 -m venv .*)\n```", (ROOT / "README.md").read_text())


def test_readme_starts_with_the_demo_and_the_test_command():
    demo, tests = _commands()[:2]
    assert demo.endswith("pip install -e . && plaudit demo")
    assert tests.endswith("pip install -e '.[test]' && pytest")


def test_ci_runs_exactly_the_readme_test_command_with_services_required():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _commands()[1] in ci.splitlines()
    assert "export PLAUDIT_REQUIRE_SERVICES=1" in ci
