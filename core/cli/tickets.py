"""``plaudit tickets``: the ticket categories the case mix and the training needs group by."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..db import transaction
from ..ticket_categories import category_counts, rename_category
from .accounts import hr_or_admin


@click.group("tickets")
def tickets():
    """Helpdesk tickets: their categories."""


@tickets.command("categories")
@with_appcontext
def categories_command():
    """List the ticket categories, each with how many tickets have it."""
    with transaction() as session:
        found = category_counts(session)
    if not found:
        click.echo("no ticket categories yet: they come with tickets (helpdesk webhooks, plaudit import tickets)")
    for name, count in found:
        click.echo(f"{count:>8}  {name}")


@tickets.command("rename-category")
@click.argument("old")
@click.argument("new")
@click.option("--by", "by", required=True, metavar="EMAIL", help="your account (HR or admin), for the audit")
@with_appcontext
def rename_category_command(old, new, by):
    """Rename the category OLD (any spelling of it) to NEW, or merge it into NEW when that is a category already.

    Its tickets and the feedback about them take the new name; audited. Runs already made keep their case mixes
    until their periods are appraised again.
    """
    with transaction() as session:
        actor = hr_or_admin(session, by, "rename ticket categories")
        try:
            done = rename_category(session, old, new, actor=actor)
        except (LookupError, ValueError) as exc:
            message = str(exc.args[0])
            field, _, said = message.partition(": ")
            raise click.BadParameter(said, param_hint=field) from None
    how = "merged into" if done.merged else "renamed"
    click.echo(f"{done.before!r} {how} {done.after!r}: {done.tickets} ticket(s) and {done.items} feedback item(s) "
               f"now say {done.after!r}; runs already made keep their case mixes until appraised again")
