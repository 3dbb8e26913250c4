"""``plaudit plugins``: what is loaded, from where, and which hooks each plugin implements."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..plugins import get_plugins


@click.command("plugins")
@with_appcontext
def plugins_command():
    """List the loaded plugins, their source, their hooks and what they contribute."""
    loaded = get_plugins(current_app)
    for info in loaded.describe():
        click.secho(info.name, bold=True, nl=False)
        click.echo(f"  [{info.source}]")
        click.echo(f"    hooks: {', '.join(info.hooks) or '(none)'}")
    for label, items in (("channels", loaded.channels), ("scoring rules", loaded.scoring_rules),
                         ("integrity checks", loaded.integrity_checks)):
        click.echo(f"{label}: {', '.join(sorted(items)) or '(none)'}")
