"""``plaudit privacy``: erase a customer's personal data on request; strip raw payloads past retention."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..db import transaction
from ..privacy import erase_customer
from ..retention import (
    BATCH_SIZE,
    count_expired_payloads,
    purge_expired_payloads,
    retention_cutoff,
)
from .accounts import hr_or_admin


@click.group("privacy")
def privacy():
    """Customers' personal data: erasure on request, and payload retention (docs/privacy.md)."""


@privacy.command("erase")
@click.argument("identifiers", nargs=-1, required=True)
@click.option("--by", "by", required=True, metavar="EMAIL", help="your account (HR or admin), for the audit")
@click.option("--note", help="the request's reference, e.g. the data-protection ticket; audited")
@click.option("--dry-run", is_flag=True, help="say what would be erased, and erase nothing")
@with_appcontext
def erase(identifiers, by, note, dry_run):
    """Erase the personal data of the customer known by IDENTIFIERS.

    Give every identifier the channels knew the customer by: an e-mail address, a social handle (with or
    without @), a helpdesk requester as provider:id (zendesk:4711). Comments become "[erased]", the
    customer's hash and the personal parts of raw payloads go; values, times, employees and teams stay, so
    every appraisal keeps its numbers. Running it again erases nothing more.
    """
    if any(not i.strip() for i in identifiers):
        raise click.BadParameter("an identifier is empty", param_hint="IDENTIFIERS")
    with transaction() as session:
        actor = hr_or_admin(session, by, "erase customers' data")
        report = erase_customer(session, identifiers, actor=actor, note=note, dry_run=dry_run)
    found = report.as_dict()
    verb = "would erase" if dry_run else "erased"
    kinds = ", ".join(f"{kind} {count}" for kind, count in found["by_kind"].items())
    click.echo(f"{verb} {found['items']} feedback item(s){f' ({kinds})' if kinds else ''}, "
               f"{found['comments']} comment(s), {found['replies']} brand reply(ies) to them, "
               f"{found['invitations']} survey invitation(s), "
               f"{found['tickets']} ticket subject(s), {found['audit_entries']} changed answer(s) in the audit log")
    if report.mentions:  # people's own words: a person decides what to do with them
        click.echo(f"named in what people wrote, left as written for you to review: {', '.join(report.mentions)}")
    if not dry_run:
        click.echo(f"audited as request {report.request_ref[:12]} (the identifiers themselves are not kept)")
    elif not report.total:
        click.echo("nothing is stored under these identifiers (or it was erased before)")


@privacy.command("purge-payloads")
@click.option("--older-than-days", type=click.IntRange(min=1), metavar="DAYS",
              help="default: PLAUDIT_PAYLOAD_RETENTION_DAYS")
@click.option("--batch-size", type=click.IntRange(min=1, max=100_000), default=BATCH_SIZE, show_default=True)
@with_appcontext
def purge_payloads(older_than_days, batch_size):
    """Strip raw payloads of items older than the retention window down to what aggregation reads.

    The daily cron job does the same; this shows its progress. Items already stripped are skipped.
    """
    days = older_than_days or current_app.config["PAYLOAD_RETENTION_DAYS"]
    cutoff = retention_cutoff(days)
    if cutoff is None:
        click.echo("PLAUDIT_PAYLOAD_RETENTION_DAYS is null: payloads are kept whole. "
                   "Give --older-than-days to strip them anyway.")
        return
    with transaction() as session:
        due = count_expired_payloads(session, cutoff)
    with click.progressbar(length=due, label=f"stripping payloads older than {days} days", file=None) as bar:
        stripped = purge_expired_payloads(cutoff, batch_size=batch_size, progress=bar.update)
    click.echo(f"stripped {stripped} payload(s) of items that occurred before {cutoff:%Y-%m-%d %H:%M} UTC")
