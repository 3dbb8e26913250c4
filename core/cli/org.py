"""``plaudit org``: bring the organisation in from a CSV file."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..db import transaction
from ..people_import import COLUMNS, import_people
from .messages import flatten_errors


@click.group()
def org():
    """Manage teams and employees."""


@org.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@with_appcontext
def import_command(file):
    """Create or update teams and employees from a CSV file.

    Columns: name, email, team, lead (yes/no: the team's manager), identities (provider:id pairs separated
    by ';', e.g. "zendesk:361; email:ann@example.com"). Employees are matched by e-mail, so importing the
    same file again changes nothing. If any row is wrong, nothing is imported and every wrong row is listed.
    """
    lines = file.read().splitlines()
    with click.progressbar(length=max(len(lines) - 1, 0), label="importing people") as bar, \
            transaction() as session:
        report = import_people(session, lines, progress=bar.update)
        if report.errors:
            session.rollback()
    if report.errors:
        for line, errors in report.errors:
            click.echo(f"  line {line}: {'; '.join(flatten_errors(errors))}", err=True)
        click.echo(f"nothing imported: {len(report.errors)} row(s) need fixing (columns: {', '.join(COLUMNS)})",
                   err=True)
        raise SystemExit(1)
    click.echo(f"employees created {report.created}, updated {report.updated}; teams created "
               f"{report.teams_created}")
