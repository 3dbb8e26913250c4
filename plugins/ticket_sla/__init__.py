"""Ticket SLAs: first-response and resolution attainment."""
from core.plugins import hookimpl

from .rules import FirstResponseSla, ResolutionSla


@hookimpl
def register_scoring_rules():
    return [FirstResponseSla, ResolutionSla]
