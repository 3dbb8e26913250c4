"""Mystery-shopper scores: the report score, and the score of one section."""
from core.plugins import hookimpl

from .rules import MysteryScore, MysterySection


@hookimpl
def register_scoring_rules():
    return [MysteryScore, MysterySection]
