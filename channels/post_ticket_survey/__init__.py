"""Post-ticket surveys: CSAT, NPS and CES answers about the agent who handled a ticket."""
from core.jobs import CronEntry
from core.plugins import hookimpl

from .channel import PostTicketSurvey
from .ticket_metrics import TicketMetrics


@hookimpl
def register_channels():
    return [PostTicketSurvey, TicketMetrics]


@hookimpl
def register_commands(cli):
    import click

    from .cli import (
        import_group,
        integrations_group,
        surveys_group,
        sweep_overdue_command,
    )

    for group in (import_group, integrations_group, surveys_group):
        cli.add_command(group)
    # Beside the kernel's ticket commands (`plaudit tickets categories`); in a group of its own where there is none
    # (the plugins page asks each plugin for its commands with an empty group).
    tickets = cli.commands.get("tickets")
    if not isinstance(tickets, click.Group):
        tickets = click.Group("tickets", help="Helpdesk tickets.")
        cli.add_command(tickets)
    tickets.add_command(sweep_overdue_command)


@hookimpl
def register_cron_jobs():
    # Open tickets past their SLA target are misses from the moment it passes (overdue.py).
    return [CronEntry("channels.post_ticket_survey.overdue.sweep_overdue", interval=900)]
