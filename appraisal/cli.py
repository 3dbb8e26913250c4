"""Command line for HR scripting: ``plaudit appraise``, ``appraisal``, ``guidelines``, ``targets``, ``digests``
(``review`` is in :mod:`appraisal.review_cli`)."""
from __future__ import annotations

import json
from datetime import date

import click
from flask.cli import with_appcontext
from marshmallow import ValidationError
from sqlalchemy import func, select

from core.accounts import user_by_email
from core.cli.messages import flatten_errors
from core.db import transaction
from core.local_time import today, zone_name
from core.models import Employee, Team, User

from .guidelines import (
    GuidelineError,
    guideline_diff,
    guideline_history,
    guideline_in_force,
    guideline_version,
)
from .guidelines import publish_guideline as publish
from .lineage import metric_lineage
from .models import AppraisalRun
from .period_zone import MisalignedPeriods, counted_rows, move_periods
from .periods import (
    PERIOD_KINDS,
    check_started,
    dates_text,
    period_between,
    period_of,
    unfinished,
)
from .run_export import print_run
from .runs import compute_run, request_run
from .targets import TargetError, describe_targets, set_target

DAY = click.DateTime(formats=["%Y-%m-%d"])


def _day(value) -> date:
    return value.date()


def _user(session, email: str | None) -> User:
    if email is None:
        raise click.UsageError("--by: give the e-mail of the user taking this action")
    user = user_by_email(session, email)
    if user is None:
        raise click.BadParameter(f"no user {email!r}", param_hint="--by")
    return user


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    raise SystemExit(1)


# --- appraise --------------------------------------------------------------------------------------------


@click.command()
@click.option("--from", "first", type=DAY, required=True, help="first day of the period (YYYY-MM-DD)")
@click.option("--to", "last", type=DAY, required=True, help="last day of the period, included")
@click.option("--period", "kind", type=click.Choice(PERIOD_KINDS), default=None,
              help="week, month, quarter or custom; recognised from the dates when left out")
@click.option("--guideline-version", type=int, default=None, help="apply this version (default: the one in force)")
@click.option("--format", "output", type=click.Choice(["table", "csv", "json"]), default="table")
@click.option("--by", "by", default=None, help="e-mail of the user requesting the run (for the audit trail)")
@with_appcontext
def appraise(first, last, kind, guideline_version, output, by):
    """Run an appraisal for a period and print each employee's results."""
    try:
        period = check_started(period_between(_day(first), _day(last), kind), today())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--to") from None
    warning = unfinished(period, today())
    if warning:
        click.secho(f"note: {warning}", fg="yellow", err=True)
    try:
        with transaction() as session:
            actor = _user(session, by) if by else None
            if actor is not None and not actor.has_role("hr", "admin"):
                _fail(f"{by} is not HR: only HR runs appraisals")
            run_id = request_run(session, period, actor=actor, guideline_version_number=guideline_version).id
    except (GuidelineError, ValidationError, MisalignedPeriods) as exc:
        _fail(f"cannot run: {exc}")
    # Without Redis the run was computed when the request committed; with it, compute it here rather than
    # wait for a worker (the queued job then finds it completed). A run that already failed is not tried again:
    # it failed for a reason trying cannot change (a rule no plugin provides), and it would count two attempts.
    with transaction() as session:
        status = session.get(AppraisalRun, run_id).status
    if status != "failed":
        status = compute_run(run_id)
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        if status != "completed":
            _fail(f"run {run_id} {run.status}: {run.error}")
        print_run(session, run, output)


# --- appraisal runs ----------------------------------------------------------------------------------------


@click.group("appraisal")
def appraisal_group():
    """Look at appraisal runs and trace their numbers."""


@appraisal_group.command("runs")
@with_appcontext
def runs_command():
    """List runs, newest first."""
    with transaction() as session:
        for run in session.scalars(select(AppraisalRun).order_by(AppraisalRun.id.desc()).limit(50)):
            click.echo(f"{run.id:>5}  {run.status:<9} {period_of(run).label:<34}  guideline v{run.guideline.version}"
                       + (f"  error: {run.error}" if run.error else ""))


@appraisal_group.command("show")
@click.argument("run_id", type=int)
@click.option("--format", "output", type=click.Choice(["table", "csv", "json"]), default="table")
@with_appcontext
def show_command(run_id, output):
    """Print the results of run RUN_ID."""
    with transaction() as session:
        run = session.get(AppraisalRun, run_id)
        if run is None or run.status != "completed":
            _fail(f"run {run_id} {'does not exist' if run is None else 'is ' + run.status}")
        print_run(session, run, output)


@appraisal_group.command("lineage")
@click.argument("run_id", type=int)
@click.option("--employee", "email", required=True, help="the employee's e-mail")
@click.option("--metric", required=True)
@click.option("--limit", type=int, default=100, show_default=True, help="items to list")
@click.option("--offset", type=int, default=0, show_default=True, help="items to skip (for the next page)")
@with_appcontext
def lineage_command(run_id, email, metric, limit, offset):
    """Show how a metric of a run was computed: formula, parameters, inputs and items (JSON)."""
    with transaction() as session:
        employee_id = session.scalar(select(Employee.id).where(Employee.email == email.strip().lower()))
        if employee_id is None:
            raise click.BadParameter(f"no employee {email!r}", param_hint="--employee")
        try:
            click.echo(json.dumps(metric_lineage(session, run_id, employee_id, metric, limit=limit,
                                                       offset=offset), indent=2))
        except LookupError as exc:
            _fail(str(exc))


@appraisal_group.command("move-periods")
@click.option("--from", "old_zone", required=True, help="the time zone the stored periods were made in (UTC, "
                                                         "unless PLAUDIT_TIME_ZONE was set to another)")
@with_appcontext
def move_periods_command(old_zone):
    """Move the runs, targets and period flags made under another time zone onto PLAUDIT_TIME_ZONE's midnights."""
    try:
        with transaction() as session:
            result = move_periods(session, old_zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--from") from None
    if result.moved:
        click.echo(f"{counted_rows(result.moved)} moved to the same days in {zone_name()}; runs keep the numbers "
                   f"they computed: appraise a period again for its new hours")
    if result.dropped:
        click.echo(f"{len(result.dropped)} period flag(s) dropped, each the same finding as another flag of its "
                   f"check, employee and days, the decided one kept ({', '.join(map(str, result.dropped))})")
    for what, row_id, why in result.left[:20]:
        click.secho(f"{what} {row_id} left where it is: {why}", fg="yellow", err=True)
    if result.left:  # made under yet another zone: moved by a second command naming it
        _fail(f"{len(result.left)} left: run this again with the zone they were made in")
    if not result.moved:
        click.echo(f"nothing to move: every stored period is bounded by midnight in {zone_name()}")


# --- guidelines --------------------------------------------------------------------------------------------


@click.group()
def guidelines():
    """Read and publish HR guideline versions."""


@guidelines.command("show")
@click.option("--version", "number", type=int, default=None, help="a past version (default: the one in force)")
@with_appcontext
def show_guideline(number):
    """Print a guideline version's document as JSON, ready to edit and publish again.

    The version number goes to standard error. Before anything is published, this publishes the default
    guideline as version 1.
    """
    with transaction() as session:
        try:
            guideline = guideline_version(session, number) if number else guideline_in_force(session)
        except GuidelineError as exc:
            _fail(str(exc))
        click.echo(f"guideline v{guideline.version}", err=True)
        click.echo(json.dumps(guideline.document, indent=2))


@guidelines.command("publish")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--note", default=None, help="what changed and why (kept in the history)")
@click.option("--by", "by", required=True, help="e-mail of the HR user publishing it")
@with_appcontext
def publish_command(file, note, by):
    """Validate a guideline JSON file and publish it as the next version."""
    try:
        document = json.load(file)
    except json.JSONDecodeError as exc:
        _fail(f"{file.name}: not JSON: {exc}")
    if not isinstance(document, dict):
        _fail(f"{file.name}: expected a JSON object")
    with transaction() as session:
        user = _user(session, by)
        if not user.has_role("hr", "admin"):
            _fail(f"{by} is not HR: only HR publishes guidelines")
        try:
            guideline = publish(session, document, actor=user, note=note)
        except ValidationError as exc:
            session.rollback()
            for line in flatten_errors(exc.messages):
                click.echo(f"  {line}", err=True)
            _fail("nothing published: fix the fields above")
        click.echo(f"published guideline v{guideline.version}")


@guidelines.command("check")
@with_appcontext
def check_command():
    """Check every stored version against this release's rules; exit 1 when the one in force fails them."""
    from .guidelines import refused_now

    with transaction() as session:
        versions = guideline_history(session)
        in_force = max((g.version for g in versions), default=None)
        failing_in_force = False
        for guideline in versions:
            refused = refused_now(guideline.document)
            state = "in force, " if guideline.version == in_force else ""
            click.echo(f"v{guideline.version}: {state}{'refused today' if refused else 'valid'}")
            for line in refused:
                click.echo(f"  {line}")
            failing_in_force |= bool(refused) and guideline.version == in_force
    if failing_in_force:
        _fail("the version in force would be refused today: publish a corrected version")


@guidelines.command("history")
@with_appcontext
def history_command():
    """List every version with who published it, when, and why."""
    with transaction() as session:
        names = dict(session.execute(select(User.id, User.email)).all())
        for guideline in guideline_history(session):
            click.echo(f"v{guideline.version:<4} {guideline.created_at:%Y-%m-%d %H:%M}  "
                       f"{names.get(guideline.created_by, 'system'):<28} {guideline.note or ''}")


@guidelines.command("diff")
@click.argument("old", type=int)
@click.argument("new", type=int)
@with_appcontext
def diff_command(old, new):
    """Show what changed between two versions."""
    with transaction() as session:
        try:
            changes = guideline_diff(guideline_version(session, old).document,
                                     guideline_version(session, new).document)
        except GuidelineError as exc:
            _fail(str(exc))
    for path, before, after in changes:
        click.echo(f"{path}: {json.dumps(before)} -> {json.dumps(after)}")
    if not changes:
        click.echo("no differences")


# --- targets ---------------------------------------------------------------------------------------------


@click.group()
def targets():
    """Set and list targets."""


@targets.command("set")
@click.option("--metric", required=True)
@click.option("--employee", "email", default=None, help="the employee's e-mail")
@click.option("--team", "slug", default=None, help="the team's slug or name")
@click.option("--from", "first", type=DAY, required=True)
@click.option("--to", "last", type=DAY, required=True, help="last day, included")
@click.option("--value", type=float, required=True)
@click.option("--by", "by", required=True, help="e-mail of the manager or HR user setting it")
@with_appcontext
def set_target_command(metric, email, slug, first, last, value, by):
    """Set a target for an employee or a team over a period."""
    if bool(email) == bool(slug):
        raise click.UsageError("give either --employee or --team")
    try:
        period = period_between(_day(first), _day(last))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--from/--to") from None
    with transaction() as session:
        user = _user(session, by)
        employee = team = None
        if email:
            employee = session.scalar(select(Employee).where(Employee.email == email.strip().lower()))
            if employee is None:
                raise click.BadParameter(f"no employee {email!r}", param_hint="--employee")
        if slug:
            team = session.scalar(select(Team).where((Team.slug == slug) | (Team.name == slug)).limit(1))
            if team is None:
                raise click.BadParameter(f"no team {slug!r}", param_hint="--team")
        try:
            target = set_target(session, user, metric=metric, period=period, value=value, employee=employee,
                                team=team)
        except TargetError as exc:
            session.rollback()
            raise click.BadParameter(exc.message, param_hint=f"--{exc.field}") from None
        except PermissionError as exc:
            session.rollback()
            _fail(str(exc))
        click.echo(f"target {target.id}: {metric} {value:g} for {email or slug}, {period.label}")


@targets.command("list")
@with_appcontext
def list_targets():
    """List every target."""
    with transaction() as session:
        for row in describe_targets(session):
            t = row["target"]
            click.echo(f"{t.id:>5}  {t.metric:<20} {t.value:>8g}  {row['kind']:<8} {row['subject']:<24} "
                       f"{dates_text(t.period_start, t.period_end)}")


# --- weekly digests ---------------------------------------------------------------------------------------------


@click.group("digests")
def digests_group():
    """E-mail the weekly digests: each employee's report, each manager's team report."""


@digests_group.command("send")
@click.option("--run", "run_id", type=int, default=None,
              help="the completed run to send (default: the latest completed weekly run)")
@click.option("--dry-run", is_flag=True, help="list who would get which digest; record and send nothing")
@with_appcontext
def send_digests_command(run_id, dry_run):
    """Send the digests of a run that have not gone yet (each message goes once per run)."""
    from .digests import period_sent_from, recipients, send_weekly_digests
    from .models import DigestDelivery
    from .report import completed_run, latest_completed_run

    with transaction() as session:
        run = completed_run(session, run_id) if run_id is not None else latest_completed_run(session)
        if run is None:
            if run_id is not None:
                raise click.BadParameter(f"run {run_id} is not a completed appraisal run", param_hint="--run")
            _fail("no completed weekly run yet: nothing to send")
        # As the scheduled job: a week HR re-ran was e-mailed already, and goes again only when asked by its run.
        earlier = period_sent_from(session, run) if run_id is None else None
        if earlier is not None:
            click.echo(f"run {run.id}: {period_of(run).label} was e-mailed from run {earlier} already; nothing "
                       f"sent. To e-mail run {run.id}'s numbers too: plaudit digests send --run {run.id}")
            return
        run_id = run.id
        sent_before = set(session.execute(select(DigestDelivery.recipient_id, DigestDelivery.kind)
                                          .where(DigestDelivery.run_id == run.id)).all())
        due = [r for r in recipients(session, run) if (r.employee_id, r.kind) not in sent_before]
        title = period_of(run).label
    click.echo(f"run {run_id}: {title}; {len(due)} digest(s) to send, {len(sent_before)} planned before")
    for recipient in due:
        click.echo(f"  {recipient.kind:<8} {recipient.name:<24} {recipient.email}")
    if dry_run or not due:
        return
    planned = send_weekly_digests(run_id)
    with transaction() as session:
        sent = session.scalar(select(func.count()).select_from(DigestDelivery).where(
            DigestDelivery.run_id == run_id, DigestDelivery.sent_at.is_not(None)))
    click.echo(f"{planned} digest(s) planned; {sent} of the run's sent so far"
               + ("" if sent >= len(sent_before) + planned else
                  " (the rest wait for a worker or a retry; `plaudit jobs status` shows which)"))


COMMANDS = (appraise, appraisal_group, guidelines, targets, digests_group)
