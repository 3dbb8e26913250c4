"""The Procfile starts what docs/deploy.md says, with commands that exist: CI catches a renamed command,
a moved app factory or a Procfile that the deployment page no longer shows."""
from __future__ import annotations

import importlib
import importlib.metadata
import re
import subprocess

import pytest

from .stack import PROCFILE, ROOT

LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(\S.*)$")


def procfile() -> dict[str, str]:
    """Process types and their commands, as Procfile runners (honcho, foreman) read them."""
    processes = {}
    for number, line in enumerate(PROCFILE.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        found = LINE.match(line)
        assert found, f"Procfile line {number} is not 'name: command': {line!r}"
        assert found.group(1) not in processes, f"Procfile names {found.group(1)!r} twice"
        processes[found.group(1)] = found.group(2)
    return processes


def argv(command: str, **environment: str) -> list[str]:
    """The command's words after the shell expands it, as a Procfile runner's shell would."""
    done = subprocess.run(["sh", "-c", f"printf '%s\\n' {command}"], env={"PATH": "/usr/bin:/bin", **environment},
                          capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_procfile_names_web_worker_and_cron():
    assert set(procfile()) == {"web", "worker", "cron"}


def test_web_is_gunicorn_serving_the_app_factory():
    gunicorn_config = pytest.importorskip("gunicorn.config")
    words = argv(procfile()["web"], WEB_CONCURRENCY="3", PORT="8123", PLAUDIT_BIND="0.0.0.0")
    assert words[0] == "gunicorn"
    options = gunicorn_config.Config().parser().parse_args(words[1:])
    assert (options.workers, options.bind) == (3, ["0.0.0.0:8123"])
    # without the variables: the documented defaults
    defaults = gunicorn_config.Config().parser().parse_args(argv(procfile()["web"])[1:])
    assert (defaults.workers, defaults.bind) == (4, ["127.0.0.1:8000"])
    [app_spec] = options.args
    module_name, _, call = app_spec.partition(":")
    assert call == "create_app()", "gunicorn calls the factory: 'module:create_app()'"
    assert callable(getattr(importlib.import_module(module_name), call.removesuffix("()")))


def test_worker_and_cron_are_plaudit_commands(app):
    scripts = {entry.name: entry.value for entry in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts.get("plaudit") == "core.cli:main"
    for process in ("worker", "cron"):
        words = argv(procfile()[process])
        assert words[0] == "plaudit"
        assert words[1:] == [process], f"{process}: plaudit {' '.join(words[1:])}"
        assert process in app.cli.commands, f"plaudit has no {process} command"


def test_deploy_page_shows_the_procfile_as_it_is():
    page = (ROOT / "docs" / "deploy.md").read_text()
    for name, command in procfile().items():
        assert f"{name}: {command}" in page, f"docs/deploy.md does not show the Procfile's {name} line"
