"""``plaudit org``: bring the organisation in from a CSV file."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..db import transaction
from ..models import Employee, Team
from ..people_import import COLUMNS, import_people
from .messages import flatten_errors


@click.group()
def org():
    """Manage teams and employees."""


@org.command("import")
@click.argument("file", type=click.File("rb"))
@with_appcontext
def import_command(file):
    """Create or update teams and employees from a CSV file.

    Columns: name, email, team, lead (yes/no: the team's manager), identities (provider:id pairs separated
    by ';', e.g. "zendesk:361; email:ann@example.com"). Employees are matched by e-mail, so importing the
    same file again changes nothing. If any row is wrong, nothing is imported and every wrong row is listed.
    """
    lines = _text(file).splitlines()
    with click.progressbar(length=max(len(lines) - 1, 0), label="importing people") as bar, \
            transaction() as session:
        report = import_people(session, lines, progress=bar.update)
        if report.errors:
            session.rollback()
    if report.errors:
        by_line: dict[int, list[str]] = {}
        for line, errors in report.errors:
            by_line.setdefault(line, []).extend(flatten_errors(errors))
        for line, messages in sorted(by_line.items()):
            click.echo(f"  line {line}: {'; '.join(messages)}", err=True)
        click.echo(f"nothing imported: {len(by_line)} row(s) need fixing (columns: {', '.join(COLUMNS)})",
                   err=True)
        raise SystemExit(1)
    click.echo(f"employees created {report.created}, updated {report.updated}; teams created "
               f"{report.teams_created}")
    if report.credited:
        click.echo(f"{report.credited} waiting feedback item(s) credited to the identities just mapped")


def _text(file) -> str:
    """The file's text; a file that is not UTF-8 is refused naming its line, before anything is read in."""
    data = file.read()
    try:
        return data.decode("utf-8-sig")  # the BOM some spreadsheets write is not part of the first name
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        click.echo(f"{file.name}: not UTF-8 text (line {line}); save it as UTF-8 and import it again", err=True)
        raise SystemExit(1) from None


@org.command("list")
@with_appcontext
def list_command():
    """List teams and their employees, with ids (for `plaudit users create --employee-id`) and identities."""
    with transaction() as session:
        teams = session.scalars(select(Team).order_by(Team.name)).all()
        people = session.scalars(select(Employee).options(selectinload(Employee.identities))
                                 .order_by(Employee.name)).all()
    by_team: dict[int | None, list[Employee]] = {}
    for employee in people:
        by_team.setdefault(employee.team_id, []).append(employee)
    for team in [*teams, None]:
        members = by_team.get(team.id if team else None, [])
        if team is None and not members:
            continue
        click.secho(team.name if team else "(no team)", bold=True)
        for employee in members:
            lead = "  lead" if team and team.manager_id == employee.id else ""
            identities = ", ".join(f"{i.provider}:{i.external_id}" for i in employee.identities)
            state = "" if employee.active else "  (inactive)"
            click.echo(f"  {employee.id:>6}  {employee.name:30} {employee.email or '':32} {identities}{lead}{state}")
