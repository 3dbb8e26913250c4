"""CSV imports of survey answers and helpdesk tickets, through the same validation and ingestion as the API.

A mapping says which column (or which ``{Column}`` template) fills each field. Rows are reported by the line
they start on; re-running an import stores nothing twice.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from core.channel import IdentityRef
from core.ingestion import ingest
from core.models import Feedback
from core.tickets import TicketUpdate, ticket_problems, upsert_tickets

from .channel import PostTicketSurvey
from .ticket_metrics import record_timings

#: Tried in order after ISO 8601; a ``--date-format`` given by the user goes first.
DATE_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y")
SURVEY_FIELDS = ("response_id", "kind", "rating", "answered_at", "comment", "ticket_id", "respondent", "agent")
TICKET_FIELDS = ("ticket_id", "subject", "category", "contact_channel", "status", "opened_at",
                 "first_response_at", "resolved_at", "agent", "rating", "comment", "respondent")
BATCH = 500
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class MappingError(ValueError):
    """The mapping names a field or column that does not exist; the message says which."""


@dataclass
class ImportReport:
    tickets: int = 0
    created: int = 0
    duplicates: int = 0
    skipped: int = 0
    rejected: list[tuple[int, dict]] = field(default_factory=list)
    #: answers stored now and credited to nobody: they wait in the unattributed queue
    unattributed: int = 0
    #: lines whose answer has an id stored before with another rating or time: kept as stored, not changed
    differing: list[int] = field(default_factory=list)

    def count(self, result, lines: list[int], session=None, payloads: list[dict] | None = None) -> None:
        """Add an ingestion's outcome; ``lines`` gives the file line of each payload it was given.

        With ``session`` and ``payloads``, duplicates are compared with what is stored: a re-run with corrected
        values, or a second file reusing the first one's ids, changed nothing and said nothing.
        """
        self.created += len(result.created)
        self.unattributed += sum(1 for stored in result.created if stored.employee_id is None)
        self.duplicates += len(result.duplicates)
        self.rejected += [(lines[r.index], r.errors) for r in result.rejected]
        if session is not None and payloads and result.duplicates:
            self.differing += _differing(session, result.duplicates, lines, payloads)


def _differing(session, duplicates, lines: list[int], payloads: list[dict]) -> list[int]:
    """The lines of ``duplicates`` whose rating or time differs from the stored item's (one query)."""
    stored = {row.id: (row.value, row.occurred_at) for row in session.execute(
        select(Feedback.id, Feedback.value, Feedback.occurred_at)
        .where(Feedback.id.in_([d.feedback_id for d in duplicates])))}
    found = []
    for duplicate in duplicates:
        payload, (value, occurred_at) = payloads[duplicate.index], stored[duplicate.feedback_id]
        sent = datetime.fromisoformat(payload["answered_at"])
        if float(payload["rating"]) != value or (occurred_at is not None and sent != occurred_at):
            found.append(lines[duplicate.index])
    return found


@dataclass(frozen=True)
class ColumnMapping:
    """How to read each field from a row: a column name, or a template such as ``{Date} {Time}``."""

    specs: Mapping[str, str]

    @classmethod
    def parse(cls, pairs: list[str], allowed: tuple[str, ...], header: list[str]) -> ColumnMapping:
        specs = {}
        for pair in pairs:
            name, sep, spec = pair.partition("=")
            if not sep or not spec:
                raise MappingError(f"--map {pair!r}: write FIELD=COLUMN, e.g. rating='Satisfaction rating'")
            if name not in allowed:
                raise MappingError(f"--map {pair!r}: unknown field {name!r}; fields: {', '.join(allowed)}")
            columns = _PLACEHOLDER.findall(spec) or [spec]
            missing = [c for c in columns if c not in header]
            if missing:
                raise MappingError(f"--map {name}: no column {', '.join(map(repr, missing))} in the file; "
                                   f"columns: {', '.join(header)}")
            specs[name] = spec
        return cls(specs)

    def nul_problems(self, row: Mapping[str, str]) -> dict[str, list[str]]:
        """Name the mapped fields whose cells hold a NUL character: PostgreSQL stores no such text."""
        return {name: ["contains a NUL character"] for name in self.specs
                if "\x00" in (self.value(name, row) or "")}

    def value(self, name: str, row: Mapping[str, str]) -> str | None:
        spec = self.specs.get(name)
        if spec is None:
            return None
        if _PLACEHOLDER.search(spec):
            text = _PLACEHOLDER.sub(lambda m: row.get(m.group(1)) or "", spec)
        else:
            text = row.get(spec) or ""
        text = text.strip()
        return text or None


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"--timezone {name!r} is not a time zone name such as UTC or Europe/Berlin") from None


def parse_timestamp(text: str, tz: tzinfo, formats: tuple[str, ...] = ()) -> datetime:
    """Read a timestamp in ISO 8601 or one of ``formats``; a time without an offset is in ``tz``."""
    value = None
    for fmt in formats:
        try:
            value = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    if value is None:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            for fmt in DATE_FORMATS:
                try:
                    value = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
    if value is None:
        raise ValueError(f"{text!r} is not a date and time this import reads (give --date-format)")
    return value if value.tzinfo else value.replace(tzinfo=tz)


def read_rows(path: Path, delimiter: str = ",") -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """Return the header and an iterator of (line the row starts on, row); quoted cells may span lines."""
    handle = path.open(newline="", encoding="utf-8-sig")  # the BOM some spreadsheets write is not a column
    reader = csv.DictReader(handle, delimiter=delimiter)
    header = list(reader.fieldnames or [])

    def rows():
        with handle:
            start = reader.line_num + 1
            for row in reader:
                yield start, row
                start = reader.line_num + 1
    return header, rows()


@dataclass(frozen=True)
class SurveyOptions:
    kind: str | None = None
    scale: tuple[int, int] | None = None
    agent_provider: str = "name"
    source: str = ""
    tz: tzinfo = UTC
    date_formats: tuple[str, ...] = ()


def survey_payload(line: int, row: Mapping[str, str], mapping: ColumnMapping, options: SurveyOptions) -> dict:
    """Build the generic survey payload for one row (validation is the channel schema's job)."""
    payload: dict = {"response_id": mapping.value("response_id", row) or f"{options.source}:{line}",
                     "kind": mapping.value("kind", row) or options.kind,
                     "rating": mapping.value("rating", row)}
    answered = mapping.value("answered_at", row)
    payload["answered_at"] = answered
    if answered:
        try:
            payload["answered_at"] = parse_timestamp(answered, options.tz, options.date_formats).isoformat()
        except ValueError:
            pass  # the schema reports it, naming the field
    if options.scale:
        payload["scale"] = list(options.scale)
    for name in ("comment", "ticket_id", "respondent"):
        value = mapping.value(name, row)
        if value is not None:
            payload[name] = value
    agent = mapping.value("agent", row)
    if agent:
        payload["agent"] = {"provider": options.agent_provider, "id": agent}
    return payload


def import_surveys(session_factory, path: Path, mapping: ColumnMapping, options: SurveyOptions,
                   header_rows=None, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Ingest one survey answer per row; rows with no rating are skipped, not counted as answers."""
    _, rows = header_rows or read_rows(path)
    report = ImportReport()

    def answers() -> Iterator[tuple[int, dict]]:
        for line, row in rows:
            if mapping.value("rating", row) is None:
                report.skipped += 1
                continue
            problems = mapping.nul_problems(row)
            if problems:
                report.rejected.append((line, problems))
                continue
            yield line, survey_payload(line, row, mapping, options)

    def store(batch: list[tuple[int, dict]]) -> None:
        with session_factory() as session, session.begin():
            payloads = [payload for _, payload in batch]
            result = ingest(session, PostTicketSurvey.name, payloads)
            report.count(result, [line for line, _ in batch], session, payloads)

    _store_in_batches(answers(), store, progress)
    report.rejected.sort(key=lambda item: item[0])
    return report


def _store_in_batches(items: Iterator, store: Callable[[list], None],
                      progress: Callable[[int], None] | None) -> None:
    """Hand ``items`` (each starting with its file line) to ``store`` ``BATCH`` at a time (each batch its own
    transaction), reporting progress in the file's lines: rows skipped or refused on the way count too, where
    counting the stored ones left the bar at 81 %."""
    batch: list = []
    reported = 1  # the header
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH:
            store(batch)
            if progress:
                progress(batch[-1][0] - reported)
                reported = batch[-1][0]
            batch = []
    if batch:
        store(batch)
        if progress:
            progress(batch[-1][0] - reported)


def ticket_update(row: Mapping[str, str], mapping: ColumnMapping, provider: str, options: SurveyOptions
                  ) -> TicketUpdate:
    """Read one ticket row; raises ValueError naming the field for an unreadable value."""
    update = TicketUpdate(provider=provider, external_id=mapping.value("ticket_id", row) or "")
    if not update.external_id:
        raise FieldError("ticket_id", "is empty")
    for name in ("subject", "category", "contact_channel", "status"):
        setattr(update, name, mapping.value(name, row))
    for name in ("opened_at", "first_response_at", "resolved_at"):
        text = mapping.value(name, row)
        if text:
            try:
                setattr(update, name, parse_timestamp(text, options.tz, options.date_formats))
            except ValueError as exc:
                raise FieldError(name, str(exc)) from None
    agent = mapping.value("agent", row)
    if agent:
        update.assignee = IdentityRef(options.agent_provider, agent)
    return update


#: A ticket's attributes by the names the import maps its columns to.
_COLUMNS = {"external_id": "ticket_id", "assignee.id": "agent", "assignee.provider": "agent"}


class FieldError(ValueError):
    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.errors = {name: [message]}


def import_tickets(session_factory, path: Path, mapping: ColumnMapping, provider: str, options: SurveyOptions,
                   header_rows=None, progress: Callable[[int], None] | None = None) -> ImportReport:
    """Store each row's ticket and, where it has one, its CSAT rating. Contradictory timings are refused."""
    _, rows = header_rows or read_rows(path)
    report = ImportReport()
    schema = PostTicketSurvey.schema()

    def store(batch: list[tuple[int, TicketUpdate, dict | None]]) -> None:
        with session_factory() as session, session.begin():
            stored = upsert_tickets(session, [update for _, update, _ in batch])
            report.tickets += len(stored)
            timings = record_timings(session, stored.values())
            if timings.rejected:  # derived from checked tickets; a refusal here is a bug worth stopping for
                raise RuntimeError(f"ticket timings refused: {timings.rejected[0].errors}")
            rated = [(line, payload) for line, _, payload in batch if payload]
            payloads = [payload for _, payload in rated]
            result = ingest(session, PostTicketSurvey.name, payloads)
            report.count(result, [line for line, _ in rated], session, payloads)

    def tickets() -> Iterator[tuple[int, TicketUpdate, dict | None]]:
        for line, row in rows:
            problems = mapping.nul_problems(row)
            if problems:
                report.rejected.append((line, problems))
                continue
            try:
                update = ticket_update(row, mapping, provider, options)
            except FieldError as exc:
                report.rejected.append((line, exc.errors))
                continue
            problems = ticket_problems(update)
            if problems:  # named as the person mapped them: ticket_id and agent, not the ticket's attributes
                report.rejected.append((line, {_COLUMNS.get(name, name): messages
                                               for name, messages in problems.items()}))
                continue
            payload = None
            if mapping.value("rating", row) is not None:
                payload = survey_payload(line, row, mapping, SurveyOptions(
                    kind="csat", scale=options.scale, agent_provider=options.agent_provider,
                    source=options.source, tz=options.tz, date_formats=options.date_formats))
                payload["response_id"] = f"{provider}:{update.external_id}:csat"
                payload["ticket_id"] = f"{provider}:{update.external_id}"
                when = update.resolved_at or update.first_response_at or update.opened_at
                if when is not None:
                    payload["answered_at"] = when.isoformat()
                errors = schema.validate(payload)
                if errors:  # the whole row is refused: no ticket without the rating it came with
                    report.rejected.append((line, errors))
                    continue
            else:
                report.skipped += 1
            yield line, update, payload

    _store_in_batches(tickets(), store, progress)
    report.rejected.sort(key=lambda item: item[0])
    return report
