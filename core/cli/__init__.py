"""The ``plaudit`` command line: a Flask CLI group with Plaudit's commands and every plugin's."""
from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from ..config import ConfigError
from ..plugins import PluginError


def _build_cli(app) -> click.Group:
    from . import accounts, database, demo, feedback, jobs, plugins

    cli = FlaskGroup(create_app=lambda: app, add_version_option=False,
                     help="Plaudit: customer-service appraisal. Settings come from PLAUDIT_* variables.")
    for command in (database.db, accounts.users, accounts.tokens, plugins.plugins_command, jobs.worker,
                    jobs.cron, jobs.jobs, feedback.ingest, demo.demo):
        cli.add_command(command)
    from ..plugins import get_plugins

    get_plugins(app).register_commands(cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``plaudit`` console script."""
    from ..app import create_app

    try:
        app = create_app()
    except (ConfigError, PluginError) as exc:
        click.secho(f"plaudit: cannot start: {exc}", fg="red", err=True)
        sys.exit(2)
    _build_cli(app).main(args=argv, prog_name="plaudit")
