"""The documentation keeps up with the code: every hook, setting and command is documented."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

import click
from flask.cli import FlaskGroup, ScriptInfo

import core.hookspecs
from core.app import create_app
from core.config import DEFAULTS
from core.plugins import BUILTIN_PLUGINS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_hook_has_a_section_in_the_plugin_guide():
    hooks = [name for name, func in inspect.getmembers(core.hookspecs, inspect.isfunction)
             if hasattr(func, "plaudit_spec")]
    guide = (DOCS / "plugins.md").read_text()
    missing = [hook for hook in hooks if not re.search(rf"^### {hook}$", guide, re.MULTILINE)]
    assert hooks and not missing, f"docs/plugins.md needs a '### <hook>' section for: {', '.join(missing)}"


def test_every_setting_is_in_the_configuration_reference():
    reference = (DOCS / "configuration.md").read_text()
    missing = [f"PLAUDIT_{key}" for key in DEFAULTS if not re.search(rf"\bPLAUDIT_{key}\b", reference)]
    assert not missing, f"docs/configuration.md does not mention: {', '.join(missing)}"


def test_every_command_is_mentioned_in_the_docs(tmp_path):
    # Built-in plugins only: a plugin package installed on this machine documents its own commands.
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x" * 32,
                      "PLUGINS_ALLOWED": list(BUILTIN_PLUGINS), "PLUGINS_BLOCKED": []})
    cli = FlaskGroup(create_app=lambda: app, set_debug_flag=False)  # as core.cli.main builds `plaudit`
    commands = cli.list_commands(click.Context(cli, obj=ScriptInfo(create_app=lambda: app, set_debug_flag=False)))
    docs = "\n".join(page.read_text() for page in DOCS.rglob("*.md"))
    missing = [name for name in commands if not re.search(rf"\bplaudit {re.escape(name)}\b", docs)]
    assert commands and not missing, f"no page under docs/ mentions: {', '.join(f'plaudit {m}' for m in missing)}"
