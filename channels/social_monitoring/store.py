"""Storing posts: the one way every social entry point (imports, feeds, the push endpoint) hands posts in."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from core.ingestion import IngestReport, ingest

from .channel import SocialMonitoring


def store_posts(session: Session, payloads: Iterable[Mapping[str, Any]]) -> IngestReport:
    """Ingest post payloads into ``session`` (the caller commits) and return what was stored."""
    return ingest(session, SocialMonitoring.name, list(payloads))
