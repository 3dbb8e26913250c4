"""Survey scores: CSAT %, CSAT mean, NPS and CES."""
from core.plugins import hookimpl

from .rules import Ces, CsatMean, CsatPercent, Nps


@hookimpl
def register_scoring_rules():
    return [CsatPercent, CsatMean, Nps, Ces]
