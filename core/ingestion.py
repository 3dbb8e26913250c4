"""The one ingestion path every channel uses: validate, normalise, attribute, store once, inspect, notify.

The caller owns the transaction: :func:`ingest` writes into the session it is given and never commits.
A payload that fails validation writes nothing; a payload already stored is answered as a duplicate with
the id and status of the stored item.
"""
from __future__ import annotations

import hmac
import json
import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from . import jobs
from .attribution import ATTRIBUTION_BASES, attribute
from .channel import FeedbackDraft, IdentityRef
from .collector import collector_paused
from .db import ids_among, transaction
from .models import (
    SURVEY_KINDS,
    Feedback,
    Flag,
    Ticket,
    late_mark,
    naive_utc,
    record_audit,
    utcnow,
)
from .plugins import get_plugins
from .policy import ingestion_policy
from .storable_text import unstorable_text
from .tickets import note_surveys

log = logging.getLogger(__name__)

_INSERT_CHUNK = 500
_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass
class Stored:
    """One item the ingestion stored now (``created``) or had stored before (``duplicate``)."""

    index: int
    external_id: str
    feedback_id: int
    status: str
    employee_id: int | None


@dataclass
class Rejected:
    index: int
    errors: dict[str, Any]


@dataclass
class IngestReport:
    channel: str
    created: list[Stored] = field(default_factory=list)
    duplicates: list[Stored] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON values, in the shape of the API's ``IngestReportSchema``."""
        # Built by hand: dataclasses.asdict deep-copies every field of a thousand items.
        return {"channel": self.channel, "created": [_stored_dict(s) for s in self.created],
                "duplicates": [_stored_dict(s) for s in self.duplicates],
                "rejected": [{"index": r.index, "errors": r.errors} for r in self.rejected]}


def _stored_dict(stored: Stored) -> dict[str, Any]:
    return {"index": stored.index, "external_id": stored.external_id, "feedback_id": stored.feedback_id,
            "status": stored.status, "employee_id": stored.employee_id}


def respondent_ref(raw: str | None, salt: str) -> str | None:
    """Return the salted hash under which a respondent is stored; the raw identifier never is."""
    if raw is None or not str(raw).strip():
        return None
    # hmac.digest: the one-shot HMAC in C, the same value as hmac.new(...).hexdigest() at a fraction of its cost.
    return hmac.digest(salt.encode(), str(raw).strip().lower().encode(), "sha256").hex()


#: JSON's names for what a payload may be instead of an object.
JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false",
              type(None): "null"}


def _normalise(channel, schema, index: int, payload: Any) -> list[FeedbackDraft] | Rejected:
    if not isinstance(payload, Mapping):
        given = JSON_TYPES.get(type(payload), "not an object")
        return Rejected(index, {"_schema": [f"expected a JSON object, got {given}"]})
    unstorable: dict[str, list[str]] = {}
    for field_name, problem in unstorable_text(payload):
        unstorable.setdefault(field_name, []).append(problem)
    if unstorable:  # refused here: at the database it failed the whole batch
        return Rejected(index, unstorable)
    try:
        drafts = list(channel.to_feedback(schema.load(payload)))
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return Rejected(index, messages)
    except SQLAlchemyError:  # the database failing under a channel that reads it: the request's, answered 503
        raise
    except Exception as exc:  # a fault in the plugin's schema or to_feedback: this payload's, not the batch's
        log.exception("channel %r (%s) failed on payload %d", channel.name, type(channel).__module__, index)
        return Rejected(index, {"_schema": [(f"channel {channel.name!r} failed on this payload "
                                            f"({type(exc).__name__}); the error is in its plugin, and the log has "
                                            f"its traceback")]})
    problems: dict[str, list[str]] = {}
    for draft in drafts:
        for field_name, problem in _contract_problems(channel, draft):
            problems.setdefault(field_name, []).append(problem)
    return Rejected(index, problems) if problems else drafts


#: The times an item may have happened at: from 1900 (as periods and filters reach) to now, with a day's slack
#: for clocks and time zones that differ.
EARLIEST, FUTURE_SLACK = datetime(1900, 1, 1, tzinfo=UTC), timedelta(days=1)


def _contract_problems(channel, draft: FeedbackDraft) -> Iterator[tuple[str, str]]:
    """Check what a channel made of a payload, so one faulty plugin cannot fail a whole batch later."""
    if draft.kind not in channel.kinds:
        yield "kind", f"{draft.kind!r} is not a kind of channel {channel.name!r} ({', '.join(channel.kinds)})"
    if not isinstance(draft.occurred_at, datetime) or draft.occurred_at.tzinfo is None:
        yield "occurred_at", f"channel {channel.name!r} gave no timezone-aware datetime"
    elif not EARLIEST <= draft.occurred_at <= utcnow() + FUTURE_SLACK:
        # A date in the future would head every newest-first list for good and count in a period to come;
        # one before 1900 lies where no period or filter reaches.
        yield getattr(channel, "time_field", "occurred_at"), (
            f"{draft.occurred_at.isoformat()} is not a time feedback can have: give one from 1900 up to a day "
            f"past now (clocks differ)")
    if not isinstance(draft.external_id, str) or not 1 <= len(draft.external_id) <= 255:
        yield "external_id", "must be 1 to 255 characters"
    if draft.value is not None and (not isinstance(draft.value, int | float) or not math.isfinite(draft.value)):
        yield "value", f"channel {channel.name!r} gave a value that is not a finite number"
    elif draft.value is not None and draft.scale and not draft.scale[0] <= draft.value <= draft.scale[1]:
        yield "value", f"{draft.value} is outside the scale {draft.scale[0]:g} to {draft.scale[1]:g}"
    yield from _identity_problems(channel, draft.identities)
    try:
        json.dumps(dict(draft.payload))
    except (TypeError, ValueError):
        yield "payload", f"channel {channel.name!r} kept a payload that is not JSON"


def _identity_problems(channel, identities) -> Iterator[tuple[str, str]]:
    """``identities`` must map attribution bases to IdentityRefs: a typo in a basis would otherwise leave every
    item of the channel unattributed without a word, and a wrong value would fail the whole batch's attribution."""
    if not isinstance(identities, Mapping):
        yield "identities", f"channel {channel.name!r} gave {type(identities).__name__}, not a mapping of bases"
        return
    for basis, offered in identities.items():
        if basis not in ATTRIBUTION_BASES:
            yield "identities", (f"channel {channel.name!r} offered {basis!r}, which is not an attribution basis "
                                 f"({', '.join(ATTRIBUTION_BASES)})")
        elif not (isinstance(offered, IdentityRef) or offered is None or (
                isinstance(offered, list | tuple) and all(isinstance(ref, IdentityRef) for ref in offered))):
            yield "identities", (f"channel {channel.name!r} offered {type(offered).__name__} under {basis!r}: "
                                 f"give an IdentityRef or a list of them")


def _insert_rows(session: Session, rows: list[dict[str, Any]]) -> list[Feedback]:
    """INSERT the rows, skipping external ids already stored; return the items stored now."""
    # render_nulls: without it the ORM leaves out a row's None values, so rows with and without a comment
    # differ in shape and the batch breaks into a statement per run of alike rows (hundreds per batch).
    statement = (sqlite.insert(Feedback).on_conflict_do_nothing(index_elements=["channel", "external_id"])
                 .returning(Feedback.id).execution_options(render_nulls=True))
    ids = list(session.scalars(statement, rows))
    return list(session.scalars(select(Feedback).where(Feedback.id.in_(ids)))) if ids else []


def _insert_postgresql(session: Session, rows: list[dict[str, Any]]) -> list[Feedback]:
    """The same on PostgreSQL, with the rows as ONE JSON parameter read by ``json_populate_recordset``.

    A multi-row VALUES list has a placeholder per value (8,000 for 500 rows), and psycopg parses such a long
    statement afresh each time: that parse cost more than everything else in ingestion put together. The
    columns take their types from the ``feedback`` row type; times go in as naive UTC, as UTCDateTime
    stores them. The stored rows come back as the items themselves, so the checks need not read them again.
    (Their payloads too: a channel's payload may hold tuples, which come back as the lists the checks would read
    from the database.)
    """
    columns = sorted({name for row in rows for name in row})
    document = json.dumps(rows, allow_nan=False, default=_naive_iso)
    picked = ", ".join(f"r.{name}" for name in columns)
    statement = text(
        f"INSERT INTO feedback ({', '.join(columns)}) "
        f"SELECT {picked} FROM json_populate_recordset(NULL::feedback, CAST(:rows AS json)) AS r "
        "ORDER BY r.external_id "  # the one lock order of every writer (see ingest)
        f"ON CONFLICT (channel, external_id) DO NOTHING RETURNING {_RETURNED}").columns(*Feedback.__table__.c)
    return list(session.scalars(select(Feedback).from_statement(statement), {"rows": document}))


_RETURNED = ", ".join(column.name for column in Feedback.__table__.c)


def _naive_iso(value: Any) -> str:
    """JSON for the values ``json`` has no form of: times, as naive UTC (the only such values in a row)."""
    if isinstance(value, datetime):
        return naive_utc(value).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


@collector_paused()
def ingest(session: Session, channel_slug: str, payloads: Iterable[Any], *,
           sender_employee_id: int | None = None, reserved_ids: tuple[str, ...] = ()) -> IngestReport:
    """Run each payload through the pipeline into ``session``; return what was created, duplicate, rejected.

    :param sender_employee_id: the employee whose account sends the payloads (an API token's owner), if any: a
        payload with an item that would count for them is rejected, since nobody sends feedback about themselves.
    :param reserved_ids: prefixes of external ids this sender may not write (``Channel.reserved_ids``, for an API
        token): a payload with such an item is rejected under ``external_id``.
    :raises KeyError: if no loaded plugin provides ``channel_slug``.
    """
    app = current_app
    plugins = get_plugins()
    channel = plugins.channel(channel_slug)
    report = IngestReport(channel=channel_slug)

    drafts: list[tuple[int, FeedbackDraft]] = []
    schema = channel.schema()
    for index, payload in enumerate(payloads):
        outcome = _normalise(channel, schema, index, payload)
        if reserved_ids and not isinstance(outcome, Rejected):
            outcome = _unreserved(channel, index, outcome, reserved_ids)
        if isinstance(outcome, Rejected):
            report.rejected.append(outcome)
        else:
            drafts.extend((index, draft) for draft in outcome)
    if not drafts:
        return report

    policy = ingestion_policy(session)
    attributions = attribute(session, [d for _, d in drafts], policy.attribution, plugins)
    if sender_employee_id is not None:
        drafts, attributions = _refuse_own(report, drafts, attributions, sender_employee_id)
        if not drafts:
            return report
    salt = app.config["RESPONDENT_SALT"]
    rows, first_index = [], {}
    for (index, draft), who in zip(drafts, attributions):
        if draft.external_id in first_index:  # repeated within this batch: the first one counts
            continue
        first_index[draft.external_id] = index
        low, high = draft.scale if draft.scale else (None, None)
        received = utcnow()
        rows.append({
            "channel": channel_slug, "kind": draft.kind, "external_id": draft.external_id,
            "occurred_at": draft.occurred_at, "received_at": received, "value": draft.value,
            "scale_min": low, "scale_max": high, "comment": draft.comment, "ticket_ref": draft.ticket_ref,
            "respondent_ref": respondent_ref(draft.respondent, salt),
            "employee_id": who.employee_id, "team_id": who.team_id, "attribution_policy": who.policy,
            "attributed_identity": str(who.identity) if who.identity else None,
            "offered_basis": who.offered_basis,
            "status": "accepted", "payload": dict(draft.payload),
            "changed_at": late_mark(draft.occurred_at, received),  # the ORM's before_insert, for this bulk path
        })

    link_tickets(session, rows)
    # One order for every writer: two batches holding the same ids in opposite orders would deadlock.
    rows.sort(key=lambda row: row["external_id"])
    stored: list[Feedback] = []
    insert_rows = _insert_postgresql if session.get_bind().dialect.name == "postgresql" else _insert_rows
    for start in range(0, len(rows), _INSERT_CHUNK):
        stored.extend(insert_rows(session, rows[start:start + _INSERT_CHUNK]))
    stored.sort(key=lambda item: item.id)
    created = {item.external_id: item.id for item in stored}
    note_surveys(session, _surveys_seen(row for row in rows if row["external_id"] in created))

    flagged = _inspect(session, stored, set(), policy.checks, plugins)  # new items: no flag is open yet
    by_ext = {row["external_id"]: row for row in rows}
    for ext, fid in created.items():
        report.created.append(Stored(first_index[ext], ext, fid, "quarantined" if fid in flagged else "accepted",
                                     by_ext[ext]["employee_id"]))

    repeated = [(index, d.external_id) for index, d in drafts
                if d.external_id not in created or first_index[d.external_id] != index]
    if repeated:
        existing = {ext: (fid, status, emp) for fid, ext, status, emp in session.execute(
            select(Feedback.id, Feedback.external_id, Feedback.status, Feedback.employee_id)
            .where(Feedback.channel == channel_slug,
                   Feedback.external_id.in_(sorted({ext for _, ext in repeated}))))}
        for index, ext in repeated:
            if ext in existing:
                report.duplicates.append(Stored(index, ext, *existing[ext]))
            else:  # not expected: ON CONFLICT waits for the other writer, and SQLite has only one
                report.rejected.append(Rejected(index, {"external_id": ["being stored concurrently; retry"]}))

    if created:
        jobs.enqueue(session, announce_feedback, sorted(created.values()))
    report.created.sort(key=lambda s: s.index)
    return report


def _unreserved(channel, index: int, drafts: list[FeedbackDraft], reserved_ids: tuple[str, ...]
                ) -> list[FeedbackDraft] | Rejected:
    """The drafts, or their payload rejected if one takes an id the channel's own paths write."""
    taken = next((prefix for draft in drafts for prefix in reserved_ids if draft.external_id.startswith(prefix)),
                 None)
    if taken is None:
        return drafts
    return Rejected(index, {"external_id": [(f"ids starting {taken!r} are those of items {channel.name!r} receives "
                                             f"itself (a helpdesk's webhook, a survey page): give yours an id of "
                                             f"your own")]})


def _refuse_own(report: IngestReport, drafts: list, attributions: list, employee_id: int) -> tuple[list, list]:
    """Reject every payload with an item that would count for ``employee_id``; keep the others' drafts."""
    own = sorted({index for (index, _), who in zip(drafts, attributions) if who.employee_id == employee_id})
    if not own:
        return drafts, attributions
    refusal = (f"this would count for employee {employee_id}, who is linked to the account sending it: nobody "
               f"sends feedback about themselves")
    for index in own:
        report.rejected.append(Rejected(index, {"employee": [refusal]}))
    report.rejected.sort(key=lambda rejected: rejected.index)
    kept = [(draft, who) for draft, who in zip(drafts, attributions) if draft[0] not in own]
    return [draft for draft, _ in kept], [who for _, who in kept]


def link_tickets(session: Session, rows: list[dict[str, Any]]) -> None:
    """Set ``ticket_id`` on rows whose ``ticket_ref`` ("provider:id") names a ticket already stored.

    One query per helpdesk in the batch. A ticket that arrives later is linked by ``core.tickets``.
    """
    wanted: dict[str, set[str]] = {}
    for row in rows:
        provider, _, external_id = (row.get("ticket_ref") or "").partition(":")
        if provider and external_id:
            wanted.setdefault(provider, set()).add(external_id)
    found = {}
    for provider, ids in sorted(wanted.items()):
        # FOR SHARE (PostgreSQL): a ticket recategorised meanwhile waits for this batch to commit, and then its
        # update of the items about it sees these rows; without it they would keep the old category for good.
        found.update({f"{provider}:{ext}": (tid, category) for tid, ext, category in session.execute(
            select(Ticket.id, Ticket.external_id, Ticket.category).where(Ticket.provider == provider,
                                                                         Ticket.external_id.in_(sorted(ids)))
            .order_by(Ticket.id).with_for_update(read=True))})
    for row in rows:
        row["ticket_id"], row["ticket_category"] = found.get(row.get("ticket_ref") or "", (None, None))


def _surveys_seen(rows) -> dict[int, datetime]:
    """The latest survey answer among ``rows`` per ticket they name (see ``core.tickets.note_surveys``)."""
    seen: dict[int, datetime] = {}
    for row in rows:
        ticket_id = row["ticket_id"]
        if ticket_id is not None and row["kind"] in SURVEY_KINDS and row["occurred_at"] > seen.get(ticket_id, _EPOCH):
            seen[ticket_id] = row["occurred_at"]
    return seen


def inspect_items(session: Session, feedback_ids: list[int], checks: Mapping[str, Mapping[str, Any]],
                  plugins=None) -> set[int]:
    """Run the enabled integrity checks over these items; flag and quarantine what they object to.

    An item already flagged by a check, and not yet decided, gets no second flag from it.

    :param checks: enabled check slugs with their parameters (see :mod:`core.policy`).
    :return: the ids of the items flagged now.
    """
    plugins = plugins or get_plugins()
    if not feedback_ids or not any(slug in plugins.integrity_checks for slug in checks):
        return set()
    items = session.scalars(select(Feedback).where(Feedback.id.in_(feedback_ids)).order_by(Feedback.id)).all()
    open_flags = set(session.execute(select(Flag.feedback_id, Flag.check).where(
        Flag.feedback_id.in_(feedback_ids), Flag.decision.is_(None))).all())
    return _inspect(session, items, open_flags, checks, plugins)


def _inspect(session: Session, items: Sequence[Feedback], open_flags: set[tuple[int, str]],
             checks: Mapping[str, Mapping[str, Any]], plugins) -> set[int]:
    """:func:`inspect_items` over items already loaded, in id order, knowing their open flags."""
    enabled = [(plugins.integrity_checks[slug], params) for slug, params in sorted(checks.items())
               if slug in plugins.integrity_checks]
    if not items or not enabled:
        return set()
    flagged: set[int] = set()
    raised: list[Flag] = []
    findings = [(check.name, feedback_id, reason) for check, params in enabled
                for feedback_id, reason in check.inspect(session, items, params) or ()]
    # A check may object to a stored item outside the batch (an earlier answer arriving late makes the stored
    # one a duplicate): its open flags are read too, so it is not flagged twice.
    outside = {feedback_id for _, feedback_id, _ in findings} - {item.id for item in items}
    if outside:
        open_flags |= set(session.execute(select(Flag.feedback_id, Flag.check).where(
            Flag.feedback_id.in_(sorted(outside)), Flag.decision.is_(None))).all())
    for check_name, feedback_id, reason in findings:
        if (feedback_id, check_name) not in open_flags:
            raised.append(Flag(feedback_id=feedback_id, check=check_name, reason=reason))
            open_flags.add((feedback_id, check_name))
        flagged.add(feedback_id)
    if flagged:
        # "fetch" refreshes just the items it changed; "evaluate" would test every object in the session.
        session.execute(update(Feedback).where(Feedback.id.in_(flagged), Feedback.status == "accepted")
                        .values(status="quarantined", changed_at=utcnow())
                        .execution_options(synchronize_session="fetch"))
        session.add_all(raised)
        session.flush()
        for flag in raised:  # an exclusion is a decision about the numbers too, if an automatic one
            record_audit(session, "flag.raised", flag, after={"feedback_id": flag.feedback_id, "check": flag.check,
                                                              "reason": flag.reason, "status": "quarantined"})
    return flagged


@collector_paused()
def announce_feedback(feedback_ids: list[int]) -> int:
    """Job: fire ``feedback_ingested`` for each item not yet announced; return how many were.

    An item whose hooks fail is rolled back alone, the rest are committed, and the job then fails so the
    outbox retries just that one. The collector is paused as for :func:`ingest`: a batch's thousand items
    set off full collections that were a third of the job's CPU.
    """
    with jobs.job_app():
        plugins = get_plugins()
        with transaction() as session:
            items = session.scalars(
                select(Feedback).where(ids_among(session, Feedback.id, feedback_ids),
                                       Feedback.announced_at.is_(None))
                .order_by(Feedback.id).with_for_update(skip_locked=True)).all()
            failed = _announce(session, plugins, items)
    if failed:
        raise AnnouncementFailed("feedback_ingested failed for " + "; ".join(failed))
    return len(items)


def _announce(session: Session, plugins, items: list[Feedback]) -> list[str]:
    """Announce the items in one savepoint; return what failed, for each item whose hooks raised.

    A savepoint per item cost three round trips each, several times the ingestion itself. When an item's
    hooks raise, the savepoint is rolled back, that item is left out, and the others go round again: an
    item before it hears its hooks twice, which the hook's at-least-once contract allows.
    """
    failed, waiting = [], list(items)
    while waiting:
        done = 0
        try:
            with session.begin_nested():
                for item in waiting:
                    plugins.feedback_ingested(session, item)
                    done += 1
                # Not synchronised: nothing reads the loaded items' announced_at again, and evaluating the
                # criteria against a thousand objects cost more than the UPDATE.
                marked = ids_among(session, Feedback.id, [item.id for item in waiting])
                session.execute(update(Feedback).where(marked).values(announced_at=utcnow())
                                .execution_options(synchronize_session=False))
        except Exception as exc:
            if done == len(waiting):  # not a hook: marking them announced failed, so the job fails whole
                raise
            item = waiting.pop(done)
            log.exception("feedback_ingested failed for feedback %s", item.id)
            failed.append(f"feedback {item.id} ({item.external_id}): {type(exc).__name__}: {exc}")
        else:
            waiting = []
    return failed


class AnnouncementFailed(RuntimeError):
    """Some items could not be announced; the others were. The outbox retries the job."""


def revise_feedback(session: Session, channel_slug: str, external_id: str, *, value: float | None,
                    comment: str | None, occurred_at: datetime, actor=None, payload: dict | None = None) -> Feedback:
    """Replace a stored item's answer (a customer changing their rating within the allowed window), audited.

    :param payload: the item's payload from now on, when given; else it keeps its own.

    :raises LookupError: when no such item is stored.
    """
    item = session.scalar(select(Feedback).where(Feedback.channel == channel_slug,
                                                 Feedback.external_id == external_id).with_for_update())
    if item is None:
        raise LookupError(f"no feedback {channel_slug}:{external_id}")
    before = {"value": item.value, "comment": item.comment, "occurred_at": item.occurred_at.isoformat()}
    item.value, item.comment, item.occurred_at = value, comment, occurred_at
    if payload is not None:
        item.payload = payload
    record_audit(session, "feedback.revised", item, actor=actor, before=before,
                 after={"value": value, "comment": comment, "occurred_at": occurred_at.isoformat()})
    session.flush()
    if item.ticket_id is not None and item.kind in SURVEY_KINDS:
        note_surveys(session, {item.ticket_id: occurred_at})
    # A changed answer is a new answer: it meets the same checks as the first one did.
    inspect_items(session, [item.id], ingestion_policy(session).checks)
    return item
