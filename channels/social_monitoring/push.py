"""Receiving pushed posts: a platform (or a bridge to one) sends JSON posts to a push source, signed.

The body is one post or a list of posts in the channel's post schema, signed like the generic helpdesk's
webhooks: ``X-Plaudit-Signature: sha256=<hex HMAC-SHA256 of the raw body with the source's secret>`` (the hex
in lowercase). Every accepted post is stored under the source's own name, whatever it says, so one source
cannot write as another, and a post by one of the source's handles is a brand reply, whatever it says.
Posts the schema refuses are reported by their index with their fields; the accepted ones are stored in one
transaction, all of them or none.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from core.storable_text import mended

from .clients import mark_brand_replies, watch
from .models import SocialSource
from .schemas import SocialPostSchema
from .store import store_posts

SIGNATURE_HEADER = "X-Plaudit-Signature"
SCHEME = f"{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the body>"


class Unauthorised(Exception):
    """The delivery's signature is missing or does not match the source's secret."""


class BodyError(ValueError):
    """The body is not JSON, or not a post or a list of them; ``errors`` names the field (answered 400)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.errors = {field_name: [message]}


class TooMany(BodyError):
    """More posts in one delivery than the app takes in a batch (answered 413)."""


@dataclass
class PushReport:
    """What became of each pushed post, by its index in the delivery."""

    created: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    not_relevant: list[int] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """False when every post was refused (the delivery is then answered 400)."""
        return not self.rejected or bool(self.created or self.duplicates or self.not_relevant)

    def as_dict(self) -> dict[str, Any]:
        return {"created": len(self.created), "duplicates": self.duplicates, "not_relevant": self.not_relevant,
                "rejected": self.rejected}


def signature(secret: str, body: bytes) -> str:
    """The header value a delivery of ``body`` carries: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str | None, header: str | None, body: bytes) -> bool:
    """Whether ``header`` signs ``body`` with ``secret``, compared in constant time."""
    if not secret or not header:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())


def receive_push(session: Session, source: SocialSource, headers: Mapping[str, str], body: bytes,
                 limit: int | None = None) -> PushReport:
    """Verify and store one delivery to ``source`` in ``session`` (the caller commits).

    :param limit: the most posts one delivery may hold (``PLAUDIT_INGEST_BATCH_LIMIT``).
    :raises Unauthorised: on a missing or wrong signature, before the body is even parsed, or when the source
        has no secret yet (a push source made before secrets were kept).
    :raises BodyError: naming the field, when the body is not a post or a list of posts.
    :raises TooMany: when it holds more than ``limit`` posts.
    """
    if not source.push_secret:
        raise Unauthorised(f"push source {source.name!r} has no secret yet: HR or an admin replaces it on the "
                           f"sources page, then deliveries are signed with the new one")
    if not verify(source.push_secret, headers.get(SIGNATURE_HEADER), body):
        raise Unauthorised(f"signature missing or wrong: send {SCHEME}")
    try:
        # Mended, not refused: a helpdesk that cut an emoji in half would otherwise retry, and lose, the
        # delivery for ever (core.storable_text).
        data = mended(json.loads(body))
    except RecursionError:
        raise BodyError("body", "not JSON that can be read: it is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyError("body", f"not JSON: {exc}") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise BodyError("body", "send one post (a JSON object) or a list of posts, not an empty list")
    if limit is not None and len(items) > limit:
        raise TooMany("body", f"at most {limit} posts per delivery (PLAUDIT_INGEST_BATCH_LIMIT); send the rest in "
                              f"another")
    report, valid, indexes = PushReport(), [], []
    schema = SocialPostSchema()
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            report.rejected.append({"index": index, "errors": {"_schema": ["a post is a JSON object"]}})
            continue
        payload = {**item, "source": source.name}  # the source is the one signed for, never the body's
        try:
            schema.load(payload)
        except ValidationError as exc:
            report.rejected.append({"index": index, "errors": exc.messages})
            continue
        valid.append(payload)
        indexes.append(index)
    valid = mark_brand_replies(valid, list(source.handles or ()))
    kept, skipped = watch(valid, list(source.keywords or ()), list(source.handles or ()))
    report.not_relevant = [indexes[i] for i in skipped]
    skipped_set = set(skipped)
    kept_indexes = [i for n, i in enumerate(indexes) if n not in skipped_set]
    if kept:
        stored = store_posts(session, kept)
        report.created = [kept_indexes[r.index] for r in stored.created]
        report.duplicates = [kept_indexes[r.index] for r in stored.duplicates]
        report.rejected += [{"index": kept_indexes[r.index], "errors": r.errors} for r in stored.rejected]
        report.rejected.sort(key=lambda rejected: rejected["index"])
    return report
