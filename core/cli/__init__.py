"""The ``plaudit`` command line: Flask's CLI group carrying Plaudit's commands and every plugin's."""
from __future__ import annotations

import os
import re
import sys

import click
from flask.cli import FlaskGroup
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

from ..config import ConfigError
from ..db import database_unreachable
from ..plugins import PluginError

#: Commands Flask's CLI group adds itself; a plugin command of the same name would be hidden by them.
FLASK_COMMANDS = frozenset({"run", "shell", "routes"})


def init_app(app) -> None:
    """Add Plaudit's commands, then the plugins', to ``app.cli`` (so ``app.test_cli_runner()`` sees them)."""
    from ..plugins import get_plugins
    from . import (
        accounts,
        database,
        demo,
        feedback,
        jobs,
        org,
        plugins,
        privacy,
        tickets,
    )

    for command in (database.db, accounts.users, accounts.tokens, plugins.plugins_command, jobs.worker,
                    jobs.cron, jobs.jobs, feedback.ingest, org.org, demo.demo, privacy.privacy, tickets.tickets):
        app.cli.add_command(command)
    get_plugins(app).register_commands(app.cli, reserved=FLASK_COMMANDS)


def version_line() -> str:
    """The installed version and the schema revision it needs: the version number alone changes rarely, and
    the upgrade notes (docs/deploy.md) are told apart by schema revision."""
    from importlib.metadata import PackageNotFoundError, version

    from ..migrate import revisions

    try:
        installed = version("plaudit")
    except PackageNotFoundError:  # run from a source tree that was never installed
        installed = "(not installed)"
    return f"plaudit {installed}, database schema {revisions()[0]}"


def _show_version(ctx: click.Context, _param, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_line())
        ctx.exit()


def _database_named() -> str:
    """The database a command read, as an error may name it: the usual slip is the wrong one (the demo's is
    instance/demo.db), not an old one. No user, password or query (a password may ride there) is shown."""
    raw = os.environ.get("PLAUDIT_DATABASE_URL")
    if not raw:
        return "the database configured (by default the instance folder's plaudit.db)"
    try:
        url = make_url(raw)
    except ArgumentError:
        return "the database PLAUDIT_DATABASE_URL names"
    return url.set(username=None, password=None, query={}).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``plaudit`` console script."""
    from ..app import create_app

    try:
        app = create_app()
    except (ConfigError, PluginError) as exc:
        click.secho(f"plaudit: cannot start: {exc}", fg="red", err=True)
        sys.exit(2)
    cli = FlaskGroup(create_app=lambda: app, add_version_option=False, set_debug_flag=False,
                     load_dotenv=False,
                     help="Plaudit: customer-service appraisal. Settings come from PLAUDIT_* variables "
                          "(docs/configuration.md).")
    # Flask's --app/--env-file/--debug pick some other app or env file: meaningless for this installed one.
    cli.params = [p for p in cli.params if p.name not in ("app", "env_file", "debug")]
    cli.params.append(click.Option(["--version"], is_flag=True, expose_value=False, is_eager=True,
                                   help="Show the version and the database schema it needs, and exit.",
                                   callback=_show_version))
    try:
        cli.main(args=argv, prog_name="plaudit")
    except (OperationalError, ProgrammingError) as exc:
        said = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
        if re.search(r"no such (table|column)|(relation|column) \S+ does not exist", said):
            hint = (f"the schema is missing or old in {_database_named()}: run `plaudit db upgrade`, or point "
                    f"PLAUDIT_DATABASE_URL at the database meant")
        elif isinstance(exc, OperationalError) and database_unreachable(exc):
            hint = "is the database running, and PLAUDIT_DATABASE_URL right?"
        else:  # a fault in a statement (a plugin's SQL, say), not in the connection: say what it was
            hint = said
        click.secho(f"plaudit: database error ({type(exc.orig).__name__}): {hint}", fg="red", err=True)
        sys.exit(1)
