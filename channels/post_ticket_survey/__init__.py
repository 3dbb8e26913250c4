"""Post-ticket surveys: CSAT, NPS and CES answers about the agent who handled a ticket."""
from core.plugins import hookimpl

from .channel import PostTicketSurvey


@hookimpl
def register_channels():
    return [PostTicketSurvey]
