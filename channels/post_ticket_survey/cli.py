"""``plaudit import surveys`` and ``plaudit import tickets``: CSV files with a column mapping."""
from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from core.cli.messages import flatten_errors
from core.cli.text_files import require_utf8
from core.local_time import zone_name
from core.models import Integration

from .helpdesks import HELPDESKS
from .helpdesks.base import single_address
from .imports import (
    SURVEY_FIELDS,
    TICKET_FIELDS,
    ColumnMapping,
    MappingError,
    SurveyOptions,
    import_surveys,
    import_tickets,
    read_rows,
    zone,
)
from .schemas import SCALES


def _scale(_ctx, _param, value):
    if value is None:
        return None
    low, sep, high = value.partition("-")
    if not sep or not low.isdigit() or not high.isdigit():
        raise click.BadParameter("write LOW-HIGH, e.g. 1-5")
    return int(low), int(high)


def _delimiter(_ctx, _param, value: str) -> str:
    value = {"\\t": "\t", "tab": "\t"}.get(value, value)
    if len(value) != 1:
        raise click.BadParameter(f"{value!r} is not one character (write '\\t' or tab for a tab)")
    return value


def _common(command):
    options = [
        click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--map", "pairs", multiple=True, metavar="FIELD=COLUMN",
                     help="Which column fills a field; a template like '{Date} {Time}' joins columns."),
        click.option("--scale", callback=_scale, metavar="LOW-HIGH", help="The rating scale, e.g. 1-5."),
        click.option("--agent-provider", default="name", show_default=True,
                     help="Identity namespace of the agent column (as in `plaudit org import` identities)."),
        click.option("--timezone", "tz", default=None,
                     help="Zone of timestamps that carry no offset [default: the organisation's, PLAUDIT_TIME_ZONE]."),
        click.option("--date-format", "date_formats", multiple=True,
                     help="strptime format tried first, e.g. '%d/%m/%Y %H:%M'."),
        click.option("--delimiter", default=",", show_default=True, callback=_delimiter,
                     help="One character; '\\t' for tab."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group("import")
def import_group():
    """Import feedback from files: survey answers, helpdesk tickets, and the other channels' exports."""


def _prepare(file, pairs, fields, delimiter):
    require_utf8(file)
    header, rows = read_rows(file, delimiter)
    try:
        mapping = ColumnMapping.parse(list(pairs), fields, header)
    except MappingError as exc:
        raise click.UsageError(str(exc)) from None
    return mapping, (header, rows), sum(1 for _ in file.open(encoding="utf-8-sig")) - 1


def _report(report, what: str) -> None:
    for line, errors in report.rejected:
        click.echo(f"  line {line}: {'; '.join(flatten_errors(errors))}", err=True)
    tickets = f"tickets {report.tickets}, " if what == "tickets" else ""
    click.echo(f"{tickets}answers created {report.created}, duplicates {report.duplicates}, "
               f"without a rating {report.skipped}, rejected {len(report.rejected)}")
    if report.unattributed:
        click.echo(f"{report.unattributed} of the answers created are credited to nobody yet: their agents match no "
                   f"employee's identity. They wait in the unattributed queue, and mapping the identities "
                   f"(plaudit org import) credits them.")
    if report.differing:
        shown = ", ".join(map(str, report.differing[:10])) + (", ..." if len(report.differing) > 10 else "")
        click.secho(f"{len(report.differing)} duplicate(s) differ from the answer stored under the same id (lines "
                    f"{shown}) and were not changed: a re-run stores nothing again, and another file reusing "
                    f"these ids is not imported. Give each file's ids a prefix of their own (a response_id "
                    f"template such as 'site2-{{Call Id}}').", fg="yellow", err=True)
    if report.rejected:
        raise SystemExit(1)


@import_group.command("surveys")
@_common
@click.option("--kind", type=click.Choice(sorted(SCALES)), help="The kind of every answer (or --map kind=...).")
@click.option("--source", help="Names the file in generated ids when no response_id column is mapped.")
@with_appcontext
def surveys(file, pairs, scale, agent_provider, tz, date_formats, delimiter, kind, source):
    """Import survey answers from FILE, one per row; rows without a rating are not answers.

    \b
    Fields: response_id, kind, rating, answered_at, comment, ticket_id, respondent, agent.
    Example:
      plaudit import surveys calls.csv --kind csat --scale 1-5 --map response_id='Call Id' \\
        --map agent=Agent --map answered_at='{Date} {Time}' --map rating='Satisfaction rating'
    """
    mapping, header_rows, lines = _prepare(file, pairs, SURVEY_FIELDS, delimiter)
    if "rating" not in mapping.specs:
        raise click.UsageError("--map rating=COLUMN is required")
    if kind is None and "kind" not in mapping.specs:
        raise click.UsageError("give --kind, or --map kind=COLUMN")
    options = SurveyOptions(kind=kind, scale=scale, agent_provider=agent_provider, source=source or file.stem,
                            tz=_zone(tz), date_formats=tuple(date_formats))
    sessionmaker = current_app.extensions["plaudit.db"].sessionmaker
    with click.progressbar(length=max(lines, 0), label=f"importing {file.name}") as bar:
        report = import_surveys(sessionmaker, file, mapping, options, header_rows, progress=bar.update)
    _report(report, "surveys")


@import_group.command("tickets")
@_common
@click.option("--provider", required=True, help="Which helpdesk the ticket ids belong to, e.g. zendesk.")
@with_appcontext
def tickets(file, pairs, scale, agent_provider, tz, date_formats, delimiter, provider):
    """Import helpdesk tickets from FILE, with the CSAT rating of those that have one.

    A ticket whose timings contradict each other (resolved before its first response, say) is refused
    and listed; nothing of it is stored.

    \b
    Fields: ticket_id, subject, category, contact_channel, status, opened_at, first_response_at,
    resolved_at, agent, rating, comment, respondent.
    """
    mapping, header_rows, lines = _prepare(file, pairs, TICKET_FIELDS, delimiter)
    if "ticket_id" not in mapping.specs:
        raise click.UsageError("--map ticket_id=COLUMN is required")
    options = SurveyOptions(scale=scale, agent_provider=agent_provider, source=provider, tz=_zone(tz),
                            date_formats=tuple(date_formats))
    sessionmaker = current_app.extensions["plaudit.db"].sessionmaker
    with click.progressbar(length=max(lines, 0), label=f"importing {file.name}") as bar:
        report = import_tickets(sessionmaker, file, mapping, provider, options, header_rows, progress=bar.update)
    _report(report, "tickets")


def _zone(name):
    try:
        return zone(name or zone_name())
    except MappingError as exc:
        raise click.BadParameter(str(exc), param_hint="--timezone") from None


@click.group("integrations")
def integrations_group():
    """Connect helpdesks: each integration has its own webhook URL and secret."""


def _survey_options(command):
    options = [
        click.option("--surveys/--no-surveys", "enabled", default=None, help="Invite customers after a solve."),
        click.option("--template", help="Survey template slug (see `plaudit surveys templates`)."),
        click.option("--sampling", type=click.Choice(["census", "percent", "quota"]),
                     help="Every solve, a share of them, or up to a number per agent per week."),
        click.option("--percent", type=float, help="With --sampling percent: the share to invite."),
        click.option("--quota", "quota_per_week", type=int, help="With --sampling quota: invitations per agent a week."),
        click.option("--delivery", type=click.Choice(["email", "link"]),
                     help="E-mail the customer, or hand the link back in the webhook's answer."),
        click.option("--expiry-days", type=int, help="How long a link works."),
        click.option("--change-window-hours", type=int, help="How long an answer may still be changed."),
        click.option("--resurvey-days", type=int, help="Don't ask the same customer again sooner (0: no limit)."),
        click.option("--max-age-days", type=int,
                     help="Invite only for tickets solved at most this many days ago."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _settings(session, current: dict, given: dict) -> dict:
    """Merge and validate survey settings; the template must exist. Errors name the option."""
    from marshmallow import ValidationError

    from .schemas import SurveySettingsSchema
    from .survey_templates import current as current_template

    merged = {**current, **{k: v for k, v in given.items() if v is not None}}
    try:
        settings = SurveySettingsSchema().load(merged)
    except ValidationError as exc:
        raise click.UsageError("; ".join(f"--{k.replace('_per_week', '').replace('_', '-')}: {' '.join(v)}"
                                         for k, v in exc.messages.items())) from None
    try:
        current_template(session, settings["template"])
    except LookupError:
        raise click.BadParameter(f"no survey template {settings['template']!r} "
                                 f"(see `plaudit surveys templates`)", param_hint="--template") from None
    return settings


@integrations_group.command("create")
@click.argument("provider", type=click.Choice(sorted(HELPDESKS)))
@click.argument("name")
@click.option("--namespace", help="generic only: the provider name its tickets and ratings go under "
                                   "(default generic_<id>).")
@click.option("--helpdesk-secret", is_flag=True,
              help="Type in the signing secret the helpdesk made (Zendesk makes its own) instead of a new one.")
@_survey_options
@with_appcontext
def create_integration(provider, name, namespace, helpdesk_secret, **survey):
    """Create an integration with PROVIDER; print its webhook path and secret (shown once)."""
    from core.db import transaction

    secret = secrets.token_urlsafe(32)
    if helpdesk_secret:  # read from the terminal, never from the command line, so it stays out of history
        secret = click.prompt("The helpdesk's signing secret", hide_input=True).strip()
        if len(secret) < 16:
            raise click.BadParameter("a signing secret of at least 16 characters", param_hint="--helpdesk-secret")
    with transaction() as session:
        settings = _settings(session, {}, survey)
        if session.scalar(select(Integration).where(Integration.name == name)):
            raise click.BadParameter(f"an integration is already named {name!r}", param_hint="NAME")
        if namespace and (provider != "generic" or not namespace.isidentifier() or namespace in HELPDESKS):
            raise click.BadParameter("generic integrations only; a snake_case name no helpdesk uses",
                                     param_hint="--namespace")
        integration = Integration(provider=provider, name=name, webhook_secret=secret,
                                  settings={"survey": settings, **({"namespace": namespace} if namespace else {})})
        session.add(integration)
        session.flush()
        path, secret = f"/channels/post_ticket_survey/webhooks/{integration.id}", integration.webhook_secret
    click.echo(f"webhook URL path: {path}")
    if not helpdesk_secret:
        click.echo(f"secret: {secret}")
    click.echo(f"{HELPDESKS[provider].title} proves each delivery with {HELPDESKS[provider].scheme}. "
               f"The secret is not shown again.", err=True)


@integrations_group.command("list")
@with_appcontext
def list_integrations():
    """List integrations with their webhook paths (never their secrets)."""
    from core.db import transaction

    with transaction() as session:
        for integration in session.scalars(select(Integration).order_by(Integration.id)):
            state = "active" if integration.active else "inactive"
            click.echo(f"{integration.id:>4}  {integration.provider:10} {state:8} {integration.name:30} "
                       f"/channels/post_ticket_survey/webhooks/{integration.id}")


@integrations_group.command("configure")
@click.argument("integration_id", type=int)
@_survey_options
@with_appcontext
def configure_integration(integration_id, **survey):
    """Change how INTEGRATION_ID surveys solved tickets; print the settings now in force."""
    from core.db import transaction
    from core.models import record_audit

    with transaction() as session:
        integration = session.get(Integration, integration_id)
        if integration is None:
            raise click.BadParameter(f"no integration {integration_id}", param_hint="INTEGRATION_ID")
        before = dict((integration.settings or {}).get("survey", {}))
        settings = _settings(session, before, survey)
        integration.settings = {**(integration.settings or {}), "survey": settings}
        record_audit(session, "integration.survey_settings", integration, before=before, after=settings)
    for key, value in sorted(settings.items()):
        click.echo(f"{key}: {value}")


@click.group("surveys")
def surveys_group():
    """Survey templates: the questions customers are asked."""


@surveys_group.command("save-template")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@with_appcontext
def save_template(file):
    """Save the template in FILE (JSON) as the next version of its slug; invitations keep their version."""
    import json

    from marshmallow import ValidationError

    from core.db import transaction

    from .survey_templates import save_version

    try:
        document = json.load(file)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: line {exc.lineno}: {exc.msg}", param_hint="FILE") from None
    try:
        with transaction() as session:
            template = save_version(session, document)
            slug, version = template.slug, template.version
    except ValidationError as exc:
        raise click.UsageError("; ".join(flatten_errors(exc.messages))) from None
    click.echo(f"saved {slug} version {version}")


@surveys_group.command("templates")
@with_appcontext
def list_templates():
    """List survey templates, newest version first, with their questions."""
    from core.db import transaction

    from .models import SurveyTemplate
    from .survey_templates import current

    with transaction() as session:
        current(session, "default")  # the built-in default exists from the first use on
        for template in session.scalars(select(SurveyTemplate).order_by(SurveyTemplate.slug,
                                                                        SurveyTemplate.version.desc())):
            questions = ", ".join(f"{q['key']} ({q['kind']} {q['scale'][0]}-{q['scale'][1]})"
                                  for q in template.questions)
            click.echo(f"{template.slug} v{template.version}: {template.title} — {questions}")


def _addresses(given: tuple[str, ...], file) -> list[str]:
    """The addresses named, and those in ``file`` (one a line; blank lines and ``#`` comments skipped)."""
    found = list(given)
    if file is not None:
        found += [line.strip() for line in file if line.strip() and not line.lstrip().startswith("#")]
    for address in found:  # one plain address each, as an invitation is sent to
        if single_address(address) is None:
            raise click.BadParameter(f"{address!r} is not an e-mail address", param_hint="ADDRESS")
    if not found:
        raise click.UsageError("name at least one ADDRESS, or a --file of them")
    return found


@surveys_group.command("opt-out")
@click.argument("addresses", metavar="ADDRESS...", nargs=-1)
@click.option("--file", type=click.File("r", encoding="utf-8"),
              help="A file of addresses, one a line: another system's unsubscribe list, say.")
@click.option("--undo", is_flag=True, help="Let these customers be surveyed again.")
@with_appcontext
def opt_out_command(addresses, file, undo):
    """Stop (or, with --undo, restart) surveys to customers who asked by phone or letter.

    Only a keyed hash of each address is kept. Customers can also opt out from any invitation's link.
    """
    from core.db import transaction

    from .opt_outs import opt_in, opt_out, ref_of

    found = _addresses(addresses, file)
    with transaction() as session:
        refs = {ref_of(address) for address in found}
        changed = sum(opt_in(session, ref) if undo else opt_out(session, ref, "hr") for ref in sorted(refs))
    done = "may be surveyed again" if undo else "opted out"
    unchanged = "had not opted out" if undo else "had opted out already"
    click.echo(f"{changed} {'customer' if changed == 1 else 'customers'} {done}"
               + (f"; {len(refs) - changed} {unchanged}" if len(refs) > changed else ""))


@click.command("sweep-overdue")
@with_appcontext
def sweep_overdue_command():
    """Store now a miss for each open ticket past its SLA target, as `plaudit cron` does every 15 minutes.

    For a deployment without the scheduler (jobs run inline), or to see what a sweep does.
    """
    from core.db import transaction

    from .overdue import record_overdue, sla_targets

    with transaction() as session:
        targets = sla_targets(session)
        sweep = record_overdue(session)
    if not targets:
        click.echo("the guideline in force scores no ticket timing against a target: no new misses")
    click.echo(f"{sweep.recorded} new miss(es) of open tickets past their target; {sweep.extended} open one(s) "
               f"brought up to date; {sweep.ended} ended by an answer or a solve; {sweep.excluded} excluded (ticket "
               f"deleted, merged or spam)")
