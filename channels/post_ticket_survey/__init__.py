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
    from .cli import import_group, integrations_group, surveys_group

    for group in (import_group, integrations_group, surveys_group):
        cli.add_command(group)


@hookimpl
def register_cron_jobs():
    # Open tickets past their SLA target are misses from the moment it passes (overdue.py).
    return [CronEntry("channels.post_ticket_survey.overdue.sweep_overdue", interval=900)]
