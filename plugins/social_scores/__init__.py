"""Social-monitoring scores: the sentiment of customers' posts about an employee, and brand reply times."""
from core.plugins import hookimpl

from .rules import SocialReplyTime, SocialSentiment


@hookimpl
def register_scoring_rules():
    return [SocialSentiment, SocialReplyTime]
