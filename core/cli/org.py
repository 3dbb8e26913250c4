"""``plaudit org``: bring the organisation in from a CSV file."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..db import transaction
from ..email_change import EmailChangeError, change_email
from ..identity_moves import IdentityMoveError, move_identity
from ..models import Employee, Team, User
from ..people_import import COLUMNS, day_text, import_people
from ..tenure import TenureError, record_leaving, record_return
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
    by ';', e.g. "zendesk:361; email:ann@example.com"), started_on (the day they joined, YYYY-MM-DD; optional).
    Employees are matched by e-mail, so importing the
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
    click.echo(f"employees created {report.created}, updated {report.updated}, unchanged {report.unchanged}; "
               f"teams created {report.teams_created}")
    for change in report.changes:  # a team move or a new name, which the counts alone would hide
        click.echo(f"  {change}")
    if report.reactivated:
        shown = ", ".join(report.reactivated[:10]) + (", ..." if len(report.reactivated) > 10 else "")
        click.echo(f"{len(report.reactivated)} of them had been deactivated and are active again: {shown} "
                   f"(`plaudit org deactivate EMPLOYEE --left-on DAY` if they left: the day it names)", err=True)
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
            left = f", left {day_text(employee.left_on)}" if employee.left_on else ""
            state = ("" if employee.active else f"  (inactive{left})") + (
                f"  (joined {day_text(employee.started_on)})" if employee.started_on else "")
            click.echo(f"  {employee.id:>6}  {employee.name:30} {employee.email or '':32} {identities}{lead}{state}")


@org.command("deactivate")
@click.argument("employee")
@click.option("--left-on", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day they left, YYYY-MM-DD (the organisation's date; today unless given). Runs of the "
                   "periods they worked in still appraise them. Given again, it corrects the day.")
@click.option("--keep-account", is_flag=True,
              help="Leave the employee's user account active; by default it is deactivated too.")
@with_appcontext
def deactivate_command(employee, left_on, keep_account):
    """Mark an employee who left as inactive, from the day they left, and their user account too.

    EMPLOYEE is an id from `plaudit org list`, or an e-mail address. Runs of periods that begin after that day
    leave them out; runs of the periods they worked in, made from now on, still appraise them. Runs already
    made keep their results.
    """
    with transaction() as session:
        person = _employee(session, employee, lock=True)
        was_active = person.active
        try:
            leaving = record_leaving(session, person, left_on.date() if left_on else None, keep_account=keep_account)
        except TenureError as exc:
            hint = "--left-on" if exc.field == "left_on" else "EMPLOYEE"
            way_out = (": plaudit users roles EMAIL --add admin, or keep the account active with --keep-account"
                       if exc.field == "account" else "")
            raise click.BadParameter(str(exc) + way_out, param_hint=hint) from None
        account = leaving.account
    if not leaving.recorded and not leaving.account_closed:
        left = (f" (left on {leaving.day.isoformat()})" if leaving.day else
                ", with no day they left: give it with --left-on to have the periods they worked appraise them")
        click.echo(f"employee {person.id} {person.name} is already inactive{left}")
        return
    if leaving.recorded and leaving.day is None and was_active:
        click.echo(f"deactivated employee {person.id} {person.name}, who was to join on "
                   f"{person.started_on.isoformat()}: no run appraises them")
    elif leaving.recorded:
        click.echo(f"deactivated employee {person.id} {person.name}, who left on {leaving.day.isoformat()}: runs of "
                   f"periods after that day leave them out, those of the periods they worked in appraise them; runs "
                   f"already made keep their results (appraise a period after that day again to leave them out of it)")
    if leaving.account_closed:
        click.echo(f"deactivated their account {account.email}: it can no longer sign in or use its API tokens")
    elif account is not None and account.active:
        click.echo(f"their account {account.email} stays active (plaudit users deactivate {account.email})")
    if leaving.leads:
        click.echo(f"warning: they still lead {', '.join(leaving.leads)}: until an import names a new lead (lead: "
                   f"yes), nobody gets that team's alerts or team digest", err=True)
    click.echo("Take them out of the organisation file too: importing a row for them makes them active again.",
               err=True)


@org.command("activate")
@click.argument("employee")
@with_appcontext
def activate_command(employee):
    """Mark an inactive employee active again (EMPLOYEE: an id or e-mail); their account stays as it is."""
    with transaction() as session:
        person = _employee(session, employee, lock=True)
        account = session.scalar(select(User).where(User.employee_id == person.id))
        if not record_return(session, person):
            click.echo(f"employee {person.id} {person.name} is already active")
            return
    click.echo(f"activated employee {person.id} {person.name}: appraisal runs from now on include them")
    if account is not None and not account.active:
        click.echo(f"their account {account.email} is still inactive: plaudit users activate {account.email}")


@org.command("set-email")
@click.argument("employee")
@click.argument("address")
@with_appcontext
def set_email_command(employee, address):
    """Change EMPLOYEE's e-mail (an id or their current e-mail) to ADDRESS, and their account's sign-in with it.

    Importing a file with the new address instead would make a second employee of them. The old address stays
    one of their identities, so feedback that still names it finds them. Audited.
    """
    with transaction() as session:
        person = _employee(session, employee)
        try:
            change = change_email(session, person, address)
        except EmailChangeError as exc:
            raise click.BadParameter(str(exc), param_hint="ADDRESS") from None
    click.echo(f"employee {person.id} {person.name}: e-mail {change.before or '(none)'} -> {change.after}")
    if change.account is not None:
        click.echo(f"their account signs in as {change.after} from now on")
    if change.kept_identity:
        click.echo(f"email:{change.before} stays theirs as an identity: feedback naming it still finds them")
    if change.credited:
        click.echo(f"{len(change.credited)} waiting item(s) that named {change.after} credited to {person.name}")


@org.command("move-identity")
@click.argument("identity")
@click.option("--to", "employee", required=True, help="the employee now known by it: an id or e-mail address")
@click.option("--with-feedback", is_flag=True,
              help="Move the items already credited through it too: they were never the holder's (a duplicate "
                   "or wrong record). Without it they stay with the holder, whose they were at the time.")
@with_appcontext
def move_identity_command(identity, employee, with_feedback):
    """Give IDENTITY (provider:id, e.g. phone:214) to another employee: a leaver's desk phone passed to a new
    hire, or a helpdesk account mapped to a duplicate record. Audited; waiting items that named it are
    credited to the new holder."""
    with transaction() as session:
        person = _employee(session, employee, param_hint="--to")
        try:
            move = move_identity(session, identity, person, with_feedback=with_feedback)
        except IdentityMoveError as exc:
            raise click.BadParameter(str(exc), param_hint="--to" if exc.about_employee else "IDENTITY") from None
        before = f"{move.before.name} ({move.before.email or move.before.id}" + (
            ", inactive)" if not move.before.active else ")")
    click.echo(f"{move.identity} moved from {before} to {move.after.name} ({move.after.email or move.after.id})")
    if with_feedback:
        click.echo(f"{len(move.moved)} item(s) credited through it moved with it")
    if move.credited:
        click.echo(f"{len(move.credited)} waiting item(s) that named it credited to {move.after.name}")
    if move.moved:
        click.echo("Runs already made keep their results: appraise those periods again to count the move.",
                   err=True)


def _employee(session, reference: str, param_hint: str = "EMPLOYEE", *, lock: bool = False) -> Employee:
    """The employee with the id or e-mail ``reference``; with ``lock``, their row held until the transaction ends
    (a change of their days: one made meanwhile from a page is read, not overwritten)."""
    if reference.isdigit():
        found, what = session.get(Employee, int(reference), with_for_update=lock), "id"
    else:
        query = select(Employee).where(func.lower(Employee.email) == reference.lower())
        found, what = session.scalar(query.with_for_update() if lock else query), "e-mail"
    if found is None:
        raise click.BadParameter(f"no employee has {what} {reference} (plaudit org list shows them)",
                                 param_hint=param_hint)
    return found
