"""Storing posts: the one way every social entry point (imports, feeds, the push endpoint) hands posts in."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from core.ingestion import IngestReport, ingest

from .channel import SocialMonitoring
from .threads import thread_posts


def store_posts(session: Session, payloads: Iterable[Mapping[str, Any]]) -> IngestReport:
    """Ingest post payloads into ``session`` (the caller commits) and return what was stored.

    The posts stored now are threaded with those stored before (:func:`.threads.thread_posts`) in the same
    transaction, so a reply's time and a follow-up's proposed employee never depend on arrival order.
    """
    report = ingest(session, SocialMonitoring.name, list(payloads))
    thread_posts(session, [stored.feedback_id for stored in report.created])
    return report
