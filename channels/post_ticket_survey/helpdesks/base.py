"""What every helpdesk adapter shares: the delivery it returns, field readers and signature checks."""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any, ClassVar

from core.channel import IdentityRef
from core.tickets import TicketUpdate


class PayloadError(ValueError):
    """A delivery is malformed; ``field`` names the part at fault (answered 422)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.errors = {field_name: [message]}


@dataclass
class AgentIdentity:
    """A helpdesk agent account and the e-mail it belongs to, so it can be mapped to an employee."""

    ref: IdentityRef
    email: str | None


@dataclass
class Delivery:
    """What one webhook body says: tickets to update, ratings (generic survey payloads), agent accounts."""

    tickets: list[TicketUpdate] = field(default_factory=list)
    ratings: list[dict] = field(default_factory=list)
    agents: list[AgentIdentity] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    #: Tickets whose customer the helpdesk surveyed itself, not answered yet (a Zendesk rating ``offered``):
    #: {(provider, ticket id): when}. They count as surveyed, so Plaudit does not ask again.
    surveyed: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def merge(self, other: Delivery) -> Delivery:
        self.tickets += other.tickets
        self.ratings += other.ratings
        self.agents += other.agents
        self.ignored += other.ignored
        self.surveyed.update(other.surveyed)
        return self


class Helpdesk:
    """A helpdesk adapter: how deliveries are signed, and what they mean."""

    provider: ClassVar[str]
    title: ClassVar[str]
    #: How a delivery proves it comes from the helpdesk, for the docs and the integration page.
    scheme: ClassVar[str]
    #: The statuses (as the adapter stores them, compared in lower case) of a ticket solved now. A ticket solved
    #: once keeps its solve time when it is reopened; its status says whether it is solved still.
    solved_statuses: ClassVar[frozenset[str]] = frozenset()

    def verify(self, headers: Mapping[str, str], query: Mapping[str, str], body: bytes, secret: str) -> bool:
        raise NotImplementedError

    def refusal(self, headers: Mapping[str, str], query: Mapping[str, str]) -> str:
        """Why a delivery that :meth:`verify` refused was refused, as far as can be told without the secret:
        a missing header or a stale time, before a signature that does not match."""
        return f"signature does not match ({self.scheme})"

    def parse(self, data: Any, received_at: datetime) -> Delivery:
        raise NotImplementedError

    def solved_now(self, status: str | None) -> bool:
        """Whether a ticket in ``status`` is solved now. A ticket whose status was never given (only its
        metrics, say) is taken at its solve time's word."""
        return status is None or status.strip().lower() in self.solved_statuses


def parse_each(parse, items, received_at: datetime) -> Delivery:
    """One delivery from a list of objects (a list endpoint, an export), each read by ``parse``."""
    delivery = Delivery()
    for item in items:
        delivery.merge(parse(item, received_at))
    return delivery


def hmac_digest(secret: str, message: bytes, algorithm) -> bytes:
    return hmac.new(secret.encode(), message, algorithm).digest()


def same(expected: str, given: str | None) -> bool:
    """Compare in constant time, so timing reveals nothing of the expected value."""
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode())


def b64_hmac(secret: str, message: bytes, algorithm=hashlib.sha256) -> str:
    return base64.b64encode(hmac_digest(secret, message, algorithm)).decode()


def token_ok(headers: Mapping[str, str], query: Mapping[str, str], secret: str) -> bool:
    """For helpdesks that cannot sign: the integration's secret in a header or in the webhook URL."""
    return same(secret, headers.get("X-Plaudit-Token")) or same(secret, query.get("token"))


def timestamp(value: Any, field_name: str) -> datetime | None:
    """Read an ISO 8601 string or Unix seconds; None stays None."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        parsed = datetime.fromisoformat(str(value))
    except (TypeError, ValueError, OverflowError):
        raise PayloadError(field_name, f"{value!r} is not a date and time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def required(data: Mapping, key: str, where: str = "") -> Any:
    name = f"{where}.{key}" if where else key
    if not isinstance(data, Mapping):
        raise PayloadError(where or "body", "expected a JSON object")
    value = data.get(key)
    if value in (None, ""):
        raise PayloadError(name, "is missing")
    return value


def section(data: Mapping, key: str, where: str) -> Mapping:
    """The object under ``key``, or {} when it is absent or empty; anything else is refused naming ``where``."""
    value = data.get(key)
    if value is None or value == "" or value == []:
        return {}
    if not isinstance(value, Mapping):
        raise PayloadError(where, "expected a JSON object")
    return value


def sections(data: Mapping, key: str, where: str) -> list[Mapping]:
    """The list of objects under ``key`` ([] when absent); anything else is refused naming ``where``."""
    value = data.get(key)
    if value is None or value == "":
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise PayloadError(where, "expected a list of JSON objects")
    return value


def code(value: Any, field_name: str) -> float | str | None:
    """A helpdesk's code for a state, source or score: a number or a word, never an object or a list."""
    if value is not None and not isinstance(value, int | float | str):
        raise PayloadError(field_name, f"expected a number or a word, not {type(value).__name__}")
    return value


def lowered_word(value: Any, field_name: str) -> str | None:
    """A helpdesk's word (a status, a score, a type) as stored and compared: lower case, trimmed. Its
    placeholders write "Solved" or "Good" where its API writes "solved" or "good": the same word, which
    compared as it came was never solved or scored."""
    value = code(value, field_name)
    if value is None:
        return None
    return str(value).strip().lower() or None


def single_address(value: Any) -> str | None:
    """One plain e-mail address, or None: "a@x, b@y" must not send a survey link to two people."""
    if not isinstance(value, str):
        return None
    _name, address = parseaddr(value)
    if not address or "@" not in address or address != value.strip() or any(c in value for c in ",;\r\n"):
        return None
    return address


def ident(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def rating_payload(provider: str, rating_id: Any, ticket_id: Any, *, rating: int, scale: tuple[int, int],
                   answered_at: datetime, agent_id: Any = None, comment: str | None = None,
                   respondent: Any = None) -> dict:
    """A rating the helpdesk collected, as a generic survey payload; the rater's agent is credited."""
    payload = {"response_id": f"{provider}:rating:{rating_id}", "kind": "csat", "rating": rating,
               "scale": list(scale), "answered_at": answered_at.isoformat(),
               "agent_basis": "assignee_at_rating"}
    if ticket_id is not None:
        payload["ticket_id"] = f"{provider}:{ticket_id}"
    if agent_id not in (None, ""):
        payload["agent"] = {"provider": provider, "id": str(agent_id)}
    if comment:
        payload["comment"] = comment
    if respondent not in (None, ""):
        payload["respondent"] = f"{provider}:{respondent}"
    return payload
