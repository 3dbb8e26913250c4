"""The default sentiment analyser: VADER, which is built for short social-media texts.

It answers the ``sentiment`` hook last, so a plugin with its own analyser replaces it.
"""
from __future__ import annotations

from functools import cache

from core.plugins import hookimpl

#: VADER's authors' cut-offs on the compound score: within them a text is neutral.
POSITIVE_FROM = 0.05
NEGATIVE_UP_TO = -0.05


@cache
def _analyser():
    # Loading the lexicon takes a moment: once per process, on first use, never at import time.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def label_of(score: float) -> str:
    """Return ``negative``, ``neutral`` or ``positive`` for a compound score on -1..1."""
    if score >= POSITIVE_FROM:
        return "positive"
    if score <= NEGATIVE_UP_TO:
        return "negative"
    return "neutral"


def vader_sentiment(text: str) -> tuple[float, str]:
    """Score ``text`` with VADER: its compound score (-1..1) and the label it falls under."""
    score = float(_analyser().polarity_scores(text or "")["compound"])
    return score, label_of(score)


@hookimpl(trylast=True)
def sentiment(text):
    return vader_sentiment(text)
