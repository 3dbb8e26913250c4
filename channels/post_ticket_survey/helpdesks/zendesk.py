"""Zendesk: tickets, ticket metrics and metric events, satisfaction ratings, agents.

Zendesk signs each webhook: base64 HMAC-SHA256 over the signature timestamp followed by the raw body.
Ratings are good/bad (1/0 on a two-point scale); an ``offered`` rating was never answered and never counts.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.channel import IdentityRef
from core.tickets import TicketUpdate

from .base import (
    AgentIdentity,
    Delivery,
    Helpdesk,
    PayloadError,
    b64_hmac,
    code,
    ident,
    lowered_word,
    parse_each,
    rating_payload,
    required,
    same,
    section,
    sections,
    single_address,
    timestamp,
)

SCORES = {"good": 1, "bad": 0}
REPLAY_WINDOW = timedelta(minutes=5)
SOLVED = {"solved", "closed"}


class Zendesk(Helpdesk):
    provider = "zendesk"
    title = "Zendesk"
    scheme = "X-Zendesk-Webhook-Signature: base64 HMAC-SHA256 of timestamp + body"
    solved_statuses = frozenset(SOLVED)

    def verify(self, headers, query, body, secret):
        stamp = headers.get("X-Zendesk-Webhook-Signature-Timestamp", "")
        try:  # a captured delivery must not be replayable later
            fresh = abs(datetime.now(UTC) - timestamp(stamp, "timestamp")) <= REPLAY_WINDOW
        except (PayloadError, TypeError):
            return False
        return fresh and same(b64_hmac(secret, stamp.encode() + body), headers.get("X-Zendesk-Webhook-Signature"))

    def refusal(self, headers, query):
        stamp = headers.get("X-Zendesk-Webhook-Signature-Timestamp", "")
        if not stamp:
            return ("X-Zendesk-Webhook-Signature-Timestamp is missing: Zendesk sends it with the signature; "
                    "a delivery without it cannot be checked")
        try:
            when = timestamp(stamp, "timestamp")
        except (PayloadError, TypeError):
            return f"X-Zendesk-Webhook-Signature-Timestamp {stamp[:40]!r} is not an ISO 8601 time"
        age = datetime.now(UTC) - when
        if abs(age) > REPLAY_WINDOW:
            said = f"{int(age.total_seconds()) // 60} minutes old" if age > timedelta(0) else "in the future"
            return (f"X-Zendesk-Webhook-Signature-Timestamp is {said}: deliveries more than 5 minutes from this "
                    f"server's clock are refused, so a captured one cannot be replayed; check the clocks")
        if not headers.get("X-Zendesk-Webhook-Signature"):
            return "X-Zendesk-Webhook-Signature is missing"
        return super().refusal(headers, query)

    def parse(self, data, received_at):
        if isinstance(data, list):
            return parse_each(self.parse, data, received_at)
        if not isinstance(data, dict):
            raise PayloadError("body", "expected a JSON object or array")
        event_type = data.get("type")
        if isinstance(event_type, str) and event_type.startswith("zen:event-type:"):
            return _event(data, event_type, received_at)
        if "stream" in data and "data" in data:  # an export record: {"stream": ..., "data": {...}}
            stream = code(data["stream"], "stream")
            return self.parse({_STREAMS.get(stream, str(stream)): data["data"]}, received_at)
        # An envelope ({"ticket": {...}, "audit": {...}}) has no id of its own; a bare object does.
        for key in _READERS if "id" not in data else ():
            if key in data:
                delivery = Delivery()
                for extra_key, extra_reader in _READERS.items():
                    if extra_key in data:
                        delivery.merge(extra_reader(section(data, extra_key, extra_key), data, received_at))
                return delivery
        if data.get("type") == "SatisfactionRating":
            return _rating_event(data, None, received_at)
        if "score" in data and "ticket_id" in data:
            return _rating(data, received_at)
        if "metric" in data and "ticket_id" in data:
            return _metric_event(data, data, received_at)
        if "reply_time_in_minutes" in data:
            return _metrics(data, data, received_at)
        if "role" in data and "email" in data:
            return _user(data, data, received_at)
        if "subject" in data and "status" in data and "id" in data:
            return _ticket(data, data, received_at)
        if "signing_secret" in data or "subscriptions" in data:
            return Delivery(ignored=["a webhook definition, not an event"])
        if data.get("type") == "Tweet" or ("name" in data and "deleted" in data):
            return Delivery(ignored=[f"nothing to appraise in a Zendesk {data.get('type', 'group')}"])
        raise PayloadError("body", "not a Zendesk ticket, rating, metric or user")


def _event(event, event_type, received_at):
    """A webhook subscribed to Zendesk's events ({"type": "zen:event-type:ticket.status_changed", "detail":
    {the ticket}, ...}): every ticket event carries the ticket as it is now, which is what Plaudit keeps.
    Zendesk writes its statuses in capitals there (SOLVED); the times are the ticket's own."""
    if not event_type.startswith("zen:event-type:ticket."):
        return Delivery(ignored=[f"event {event_type}: not about a ticket"])
    detail = section(event, "detail", "detail")
    if "id" not in detail:
        raise PayloadError("detail.id", "a ticket event names its ticket")
    # Its type in capitals (INCIDENT), as the API never writes it: one ticket's category must not flip case.
    detail = {**detail, "type": lowered_word(detail.get("type"), "detail.type")}
    return _ticket(detail, event, timestamp(event.get("time"), "time") or received_at)


def _ticket(ticket, _whole, received_at):
    ticket_id = required(ticket, "id", "ticket")
    status = lowered_word(ticket.get("status"), "ticket.status")
    update = TicketUpdate(provider="zendesk", external_id=str(ticket_id), subject=ticket.get("subject"),
                          category=ticket.get("type"), contact_channel=section(ticket, "via", "ticket.via").get("channel"),
                          status=status, opened_at=timestamp(ticket.get("created_at"), "ticket.created_at"),
                          # Zendesk's API names the requester by id only; a trigger's body can add the address
                          # ({{ticket.requester.email}}), and without it an invitation can only be a link.
                          requester_email=single_address(
                              section(ticket, "requester", "ticket.requester").get("email")
                              or ticket.get("requester_email")))
    assignee_email = ident(section(ticket, "assignee", "ticket.assignee").get("email"))
    if ticket.get("assignee_id") or assignee_email:
        # By id as the API names agents; by address as a trigger's {{ticket.assignee.email}} does.
        update.assignee = (IdentityRef("zendesk", str(ticket["assignee_id"])) if ticket.get("assignee_id")
                           else IdentityRef("email", assignee_email))
        update.assigned_at = timestamp(ticket.get("updated_at"), "ticket.updated_at") or received_at
    if status in SOLVED:  # the solve time proper comes with the ticket's metrics; this is the best bound
        # (a trigger's body may hold no time at all: it was solved by the time Zendesk sent it)
        update.resolved_at = timestamp(ticket.get("updated_at"), "ticket.updated_at") or received_at
    delivery = Delivery(tickets=[update])
    rating = ticket.get("satisfaction_rating")
    if isinstance(rating, dict) and rating.get("score") and rating.get("id"):  # {} when never offered
        delivery.merge(_rating({**rating, "ticket_id": ticket_id}, received_at))
    return delivery


def _audit(audit, whole, received_at):
    delivery = Delivery()
    for event in sections(audit, "events", "audit.events"):
        if event.get("type") == "SatisfactionRating":
            delivery.merge(_rating_event({**event, "created_at": audit.get("created_at")},
                                         audit.get("ticket_id"), received_at))
    return delivery


def _rating(rating, received_at):
    score = lowered_word(rating.get("score"), "score")  # {{satisfaction.current_rating}} writes "Good"
    if score == "offered" and rating.get("ticket_id") is not None:
        # Zendesk asked the customer itself: surveyed, so Plaudit must not ask too, though nothing is scored.
        when = _rated_at(rating) or received_at
        return Delivery(ignored=[f"rating {rating.get('id')} was offered, not answered"],
                        surveyed={("zendesk", str(rating["ticket_id"])): when})
    if score == "offered" or score == "unoffered":
        return Delivery(ignored=[f"rating {rating.get('id')} was offered, not answered"])
    if score not in SCORES:
        raise PayloadError("score", f"{score!r} is not good, bad or offered")
    return Delivery(ratings=[rating_payload(
        "zendesk", required(rating, "id", "satisfaction_rating"), rating.get("ticket_id"), rating=SCORES[score],
        scale=(0, 1), answered_at=_rated_at(rating) or received_at, agent_id=rating.get("assignee_id"), comment=rating.get("comment"),
        respondent=rating.get("requester_id"))])


def _rated_at(rating):
    """When the rating was last given, naming the field read if it is not a time."""
    name = "updated_at" if rating.get("updated_at") not in (None, "") else "created_at"
    return timestamp(rating.get(name), name)


def _rating_event(event, ticket_id, received_at):
    rating = {"id": f"event-{required(event, 'id', 'event')}", "score": event.get("score"),
              "assignee_id": event.get("assignee_id"), "comment": event.get("body"), "ticket_id": ticket_id,
              "created_at": event.get("created_at")}
    return _rating(rating, received_at)


def _metrics(metrics, _whole, received_at):
    ticket_id = required(metrics, "ticket_id", "ticket_metric")
    created = timestamp(metrics.get("created_at"), "ticket_metric.created_at")
    reply = section(metrics, "reply_time_in_minutes", "ticket_metric.reply_time_in_minutes").get("calendar")
    if reply is not None and (not isinstance(reply, int | float) or isinstance(reply, bool)):
        raise PayloadError("ticket_metric.reply_time_in_minutes.calendar", f"{reply!r} is not a number of minutes")
    update = TicketUpdate(provider="zendesk", external_id=str(ticket_id), opened_at=created,
                          resolved_at=timestamp(metrics.get("solved_at"), "ticket_metric.solved_at"))
    if created and reply is not None:
        try:
            update.first_response_at = created + timedelta(minutes=reply)
        except OverflowError:
            raise PayloadError("ticket_metric.reply_time_in_minutes.calendar", f"{reply!r} is out of range") from None
    return Delivery(tickets=[update])


def _metric_event(event, _whole, received_at):
    if event.get("metric") == "reply_time" and event.get("type") == "fulfill":
        return Delivery(tickets=[TicketUpdate(provider="zendesk", external_id=str(event["ticket_id"]),
                                              first_response_at=timestamp(event.get("time"), "time"))])
    return Delivery(ignored=[f"metric event {event.get('metric')}/{event.get('type')} changes no timing we keep"])


def _user(user, _whole, received_at):
    if user.get("role") not in ("agent", "admin"):
        return Delivery(ignored=[f"user {user.get('id')} is a {user.get('role')}, not an agent"])
    return Delivery(agents=[AgentIdentity(IdentityRef("zendesk", str(required(user, "id", "user"))),
                                          ident(user.get("email")))])


_READERS = {"ticket": _ticket, "audit": _audit, "satisfaction_rating": lambda r, _w, at: _rating(r, at),
            "ticket_metric": _metrics, "ticket_metric_event": _metric_event, "user": _user}
_STREAMS = {"satisfaction_ratings": "satisfaction_rating", "ticket_metric_events": "ticket_metric_event",
            "ticket_metrics": "ticket_metric", "tickets": "ticket", "users": "user"}
