"""``plaudit import social``: post exports (airline tweets, twcs) into the social-monitoring channel."""
from __future__ import annotations

import csv
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from core.cli.messages import flatten_errors
from core.cli.text_files import require_utf8

from .imports import FORMATS, FormatError, import_posts


@click.command("social")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", required=True, type=click.Choice(sorted(FORMATS)),
              help="airline: the airline-sentiment tweets; twcs: Customer Support on Twitter.")
@click.option("--source", required=True, help="Names where the posts came from; part of every post's key.")
@with_appcontext
def import_social(file: Path, fmt: str, source: str) -> None:
    """Import public posts from FILE, one per row, scoring each one's sentiment.

    \b
    Rows are keyed by the source and, for airline files, the row number (their tweet_id is not
    unique); twcs files by tweet_id. Importing a file again stores nothing twice.
    Example:
      plaudit import social Tweets.csv --format airline --source airline-2015
    """
    source = source.strip()
    if not source or len(source) > 80:
        raise click.BadParameter("give 1 to 80 characters", param_hint="--source")
    require_utf8(file)
    with file.open(newline="", encoding="utf-8-sig") as handle:
        rows = max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    sessionmaker = current_app.extensions["plaudit.db"].sessionmaker
    try:
        with click.progressbar(length=rows, label=f"importing {file.name}") as bar:
            report = import_posts(sessionmaker, file, fmt, source, progress=bar.update)
    except FormatError as exc:
        raise click.UsageError(f"--format {fmt}: {exc}") from None
    for line, errors in report.rejected:
        click.echo(f"  line {line}: {'; '.join(flatten_errors(errors))}", err=True)
    click.echo(f"posts created {report.created}, duplicates {report.duplicates}, rejected {len(report.rejected)}")
    if report.rejected:
        raise SystemExit(1)


@click.group("social")
def social_group():
    """Social monitoring: poll the feed and client sources."""


@social_group.command("poll")
@with_appcontext
def poll_command():
    """Poll every active source that is due, as `plaudit cron` does every five minutes.

    Without Redis the polls run here, one after the other: put this command in your system's cron on a
    machine that runs no `plaudit cron`. With Redis they are handed to the workers.
    """
    from core.jobs import get_queue

    from .polling import poll_due_sources

    due = poll_due_sources()
    where = "handed to the workers" if get_queue() is not None else "run here"
    click.echo(f"{due} source(s) due; their polls {where}" if due else "no source is due for a poll")


def add_social_import(cli: click.Group) -> None:
    """Put ``social`` under ``plaudit import``, creating the group when no other plugin has."""
    group = cli.commands.get("import")
    if group is None:
        group = click.Group("import", help="Import feedback from files.")
        cli.add_command(group)
    group.add_command(import_social)
