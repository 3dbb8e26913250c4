"""Integrity checks: self-rating, duplicate respondent, link-scanner answer, rating after reassignment,
suppressed surveys."""
from core.plugins import hookimpl

from .link_scanners import LinkScanner
from .reassignment import RatingAfterReassignment
from .respondents import DuplicateRespondent, SelfRating
from .suppression import SuppressedSurveys


@hookimpl
def register_integrity_checks():
    return [SelfRating, DuplicateRespondent, LinkScanner, RatingAfterReassignment, SuppressedSurveys]
