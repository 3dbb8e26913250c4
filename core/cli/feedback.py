"""``plaudit ingest``: feed a channel from a JSON file, through the same path as the API."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from ..db import transaction
from ..ingestion import ingest as ingest_payloads
from ..plugins import get_plugins
from .messages import flatten_errors

BATCH = 500


def _read_payloads(stream) -> list:
    text = stream.read()
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            return json.loads(text)
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON or JSON Lines: line {exc.lineno}, column {exc.colno}: {exc.msg}",
                                 param_hint="FILE") from None


@click.command()
@click.argument("channel")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@with_appcontext
def ingest(channel, file):
    """Ingest the payloads in FILE (a JSON array, or JSON Lines) into CHANNEL.

    Re-running is safe: items already stored are counted as duplicates. Rejected payloads are listed
    with their position and the fields at fault, and make the command exit with status 1.

    \b
    A post_ticket_survey line (docs/api.md has every field):
    {"response_id": "r-1", "kind": "csat", "rating": 5, "answered_at": "2026-11-20T10:00:00+00:00",
     "agent": {"provider": "email", "id": "ann@example.com"}, "comment": "Quick and kind"}
    """
    if channel not in get_plugins().channels:
        raise click.BadParameter(f"unknown channel {channel!r}; loaded: {', '.join(sorted(get_plugins().channels))}",
                                 param_hint="CHANNEL")
    payloads = _read_payloads(file)
    created = duplicates = 0
    rejected = []
    with click.progressbar(length=len(payloads), label=f"ingesting into {channel}", file=None) as bar:
        for start in range(0, len(payloads), BATCH):
            chunk = payloads[start:start + BATCH]
            with transaction() as session:
                report = ingest_payloads(session, channel, chunk)
            created += len(report.created)
            duplicates += len(report.duplicates)
            rejected += [(start + r.index + 1, r.errors) for r in report.rejected]
            bar.update(len(chunk))
    for number, errors in rejected:
        click.echo(f"  payload {number}: {'; '.join(flatten_errors(errors))}", err=True)
    click.echo(f"created {created}, duplicates {duplicates}, rejected {len(rejected)}")
    if rejected:
        raise SystemExit(1)
