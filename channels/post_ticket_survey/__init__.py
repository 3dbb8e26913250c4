"""Post-ticket surveys: CSAT, NPS and CES answers about the agent who handled a ticket."""
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
