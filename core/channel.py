"""The channel contract: how a source of feedback plugs into the one ingestion pipeline."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from random import Random
from typing import Any, ClassVar

from marshmallow import Schema

from .models.org import normalise_identity


@dataclass(frozen=True)
class IdentityRef:
    """An employee as an outside system names them: ``("zendesk", "361")``, ``("email", "ann@x.io")``."""

    provider: str
    external_id: str

    def __post_init__(self):
        object.__setattr__(self, "external_id", normalise_identity(self.provider, self.external_id))

    def __str__(self) -> str:
        return f"{self.provider}:{self.external_id}"


@dataclass
class FeedbackDraft:
    """One normalised feedback item, as a channel hands it to the kernel (nothing is stored yet).

    ``identities`` maps each attribution basis the channel can offer (``subject``, ``assignee_at_solve``,
    ``assignee_at_rating``, ``last_public_replier``, ``author``: ``core.attribution.ATTRIBUTION_BASES``) to
    who that basis points at; the kernel picks one under the attribution policy in force and records which.
    A basis may point at a sequence of candidates, tried in order (a post naming ``@brand`` then
    ``@jane_at_brand``): the first that belongs to an employee wins, else the first is kept for a manager.
    ``respondent`` is the raw customer identifier: the kernel stores only its salted hash.
    """

    kind: str
    external_id: str
    occurred_at: datetime
    value: float | None = None
    scale: tuple[float, float] | None = None
    comment: str | None = None
    ticket_ref: str | None = None
    respondent: str | None = None
    identities: Mapping[str, IdentityRef | Sequence[IdentityRef]] = field(default_factory=dict)
    payload: Mapping[str, Any] = field(default_factory=dict)


def candidates(offered: IdentityRef | Sequence[IdentityRef] | None) -> tuple[IdentityRef, ...]:
    """The identities a basis offers, in order: one :class:`IdentityRef` or a sequence of them."""
    if offered is None:
        return ()
    return (offered,) if isinstance(offered, IdentityRef) else tuple(offered)


class Channel:
    """Base class for a channel plugin. Subclass it, set the attributes, implement :meth:`to_feedback`.

    Channel code never sees ``flask.request`` and never commits: the caller owns the transaction.
    """

    #: Slug, unique across plugins; used as ``Feedback.channel``, entry-point and blueprint name.
    name: ClassVar[str]
    #: Human title shown in the UI.
    title: ClassVar[str]
    #: The feedback kinds this channel produces, such as ``("csat", "nps")``.
    kinds: ClassVar[tuple[str, ...]] = ()
    #: marshmallow schema that validates one incoming payload.
    schema: ClassVar[type[Schema]]
    #: Optional Flask blueprint (public pages, webhooks) registered under ``/channels/<name>``.
    blueprint: ClassVar[Any] = None
    #: Whether API tokens may send this channel payloads (``POST /api/v1/channels/<name>/feedback``). False for a
    #: channel whose items only its own workflow may make: a mystery report's score exists once HR approved it.
    api_ingest: ClassVar[bool] = True
    #: The payload field each item's time comes from, so an impossible time is refused under the name the
    #: sender used (``answered_at``), not the kernel's ``occurred_at``.
    time_field: ClassVar[str] = "occurred_at"

    def to_feedback(self, data: Mapping[str, Any]) -> Iterable[FeedbackDraft]:
        """Turn one validated payload into feedback drafts. Do per-item Python work here, once."""
        raise NotImplementedError

    def reserved_ids(self, session) -> tuple[str, ...]:
        """Prefixes of the external ids only the channel's own paths write (a helpdesk's webhook, a survey page).

        An API token sending an item with such an id is refused: stored first, it would make the real one a
        duplicate when it arrives, and the forged item would stand in its place. The default is none.
        """
        return ()

    def demo_payloads(self, now: datetime, rng: Random, agents: Sequence[IdentityRef]) -> Iterable[Mapping]:
        """Return payloads for ``plaudit demo``, in this channel's own format, about ``agents``.

        Use only ``rng`` for chance and stable external ids, so a second demo run stores nothing twice.
        The default is none.
        """
        return ()

    def __repr__(self) -> str:
        return f"<Channel {self.name}>"
