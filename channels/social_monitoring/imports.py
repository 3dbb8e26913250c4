"""Imports of post exports: the airline-tweets CSV and Kaggle's "Customer Support on Twitter" (twcs).

Each row becomes one post payload and goes through the same validation and ingestion as a polled feed,
a batch per transaction. Rows are reported by the file line they start on; re-running an import stores
nothing twice.
"""
from __future__ import annotations

import csv
import html
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .handles import handles_in
from .store import store_posts

BATCH = 500


class FormatError(ValueError):
    """The file lacks a column its format needs; the message names the columns."""


def _timestamp(text: str, fmt: str) -> str | None:
    try:
        return datetime.strptime(text.strip(), fmt).isoformat()
    except ValueError:
        return text or None  # left as written: the schema refuses it, naming posted_at


def _cell(cells: list[str], columns: Mapping[str, int], name: str) -> str:
    index = columns[name]
    return cells[index] if index < len(cells) else ""


_AIRLINE_TIME = re.compile(r"\s*(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4})")
_TWITTER_EPOCH_MS = 1288834974657


def snowflake_time(tweet_id: str) -> datetime | None:
    """When a tweet was posted, from its id (Twitter's "snowflake": milliseconds in the bits above 22).

    Rounding the id to a few significant figures, as a spreadsheet did, moves it by well under a second.
    """
    try:
        return datetime.fromtimestamp(((int(tweet_id) >> 22) + _TWITTER_EPOCH_MS) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return None


def airline_payload(number: int, cells: list[str], columns: Mapping[str, int], source: str) -> dict:
    """One airline tweet, keyed by its ROW NUMBER, as a spreadsheet rounded ``tweet_id`` into duplicates.

    The same spreadsheet split cells at every ``;``, so a text with ``&lt;`` or ``;p`` runs on into the
    columns after it, pushing ``tweet_coord`` and ``tweet_created`` right (and off the end of the 15
    columns for a few rows). The text is the cells up to the coordinates (empty, or ``[lat, long]``) that
    come before the timestamp, joined again by ``;``; a row whose timestamp was pushed off takes the
    time its tweet id encodes.
    """
    first = columns["text"]
    stamp = next((k for k in range(first + 1, len(cells)) if _AIRLINE_TIME.match(cells[k])), None)
    if stamp is not None:
        before = cells[stamp - 1]
        end = stamp - 1 if stamp - 1 > first and (not before or before.startswith("[")) else stamp
        posted_at = _timestamp(_AIRLINE_TIME.match(cells[stamp]).group(1), "%Y-%m-%d %H:%M:%S %z")
    else:
        end = next((k for k in range(first + 1, len(cells)) if cells[k].startswith("[")), len(cells))
        derived = snowflake_time(_cell(cells, columns, "tweet_id"))
        posted_at = derived.isoformat() if derived else None
    text = html.unescape(";".join(cells[first:end])).strip()
    return {"source": source, "external_id": str(number), "posted_at": posted_at, "text": text,
            "author": _cell(cells, columns, "name") or None, "handles": handles_in(text), "brand_reply": False}


def twcs_payload(number: int, cells: list[str], columns: Mapping[str, int], source: str) -> dict:
    """One twcs tweet; ``inbound`` False marks the brand's reply, threaded by ``in_response_to_tweet_id``."""
    row = {name: _cell(cells, columns, name) for name in columns}
    text = html.unescape(row["text"]).strip()
    inbound = row["inbound"].strip().lower()
    payload = {"source": source, "external_id": row["tweet_id"].strip(),
               "posted_at": _timestamp(row["created_at"], "%a %b %d %H:%M:%S %z %Y"),
               "text": text, "author": row["author_id"].strip() or None,
               "in_reply_to": row["in_response_to_tweet_id"].strip() or None,
               "handles": handles_in(text), "brand_reply": inbound == "false"}
    if inbound not in ("true", "false"):
        payload["brand_reply"] = row["inbound"]  # the schema refuses it, naming brand_reply
    return payload


@dataclass(frozen=True)
class PostFormat:
    columns: tuple[str, ...]
    payload: Callable[[int, list[str], Mapping[str, int], str], dict]


FORMATS: dict[str, PostFormat] = {
    "airline": PostFormat(("tweet_id", "text", "tweet_created", "name"), airline_payload),
    "twcs": PostFormat(("tweet_id", "author_id", "inbound", "created_at", "text", "in_response_to_tweet_id"),
                       twcs_payload),
}


@dataclass
class PostImport:
    created: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, dict]] = field(default_factory=list)


def read_posts(path: Path, fmt: str, source: str, *, misshapen: list | None = None
               ) -> Iterator[tuple[int, dict]]:
    """Yield (line the row starts on, payload) for each row; quoted cells may span lines.

    A row running over several lines with another number of cells than the header has, as a quote left open
    does when it swallows the rows after it into one cell, is not a post: it goes to ``misshapen`` as (line,
    errors) instead, lines named. (A row of one line with cells shifted past the header is the format's to
    read: a spreadsheet splits an airline text at its ";".)

    :raises FormatError: if the header lacks a column the format reads.
    """
    post_format = FORMATS[fmt]
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        missing = [c for c in post_format.columns if c not in header]
        if missing:
            raise FormatError(f"not a {fmt} file: no column {', '.join(map(repr, missing))}; "
                              f"columns: {', '.join(header)}")
        columns = {name: header.index(name) for name in post_format.columns}
        start = reader.line_num + 1
        for number, cells in enumerate(reader, start=1):
            if reader.line_num > start and len(cells) != len(header) and misshapen is not None:
                misshapen.append((start, {"row": [
                    (f"{len(cells)} cell(s) where the header has {len(header)}: a quote left open runs from line "
                    f"{start} to line {reader.line_num}, and the rows on those lines with it; close it and "
                    f"import again")]}))
            else:
                yield start, post_format.payload(number, cells, columns, source)
            start = reader.line_num + 1


def import_posts(session_factory, path: Path, fmt: str, source: str,
                 progress: Callable[[int], None] | None = None) -> PostImport:
    """Ingest every row of ``path`` as a post of ``source``, ``BATCH`` rows per transaction.

    :param fmt: a key of :data:`FORMATS`.
    :raises FormatError: if the file is not of that format (before anything is stored).
    """
    report = PostImport()
    misshapen: list = []
    rows = read_posts(path, fmt, source, misshapen=misshapen)
    batch: list[tuple[int, dict]] = []

    def store() -> None:
        with session_factory() as session, session.begin():
            result = store_posts(session, [payload for _, payload in batch])
        report.created += len(result.created)
        report.duplicates += len(result.duplicates)
        report.rejected += [(batch[r.index][0], r.errors) for r in result.rejected]
        if progress:
            progress(len(batch))
        batch.clear()

    for item in rows:
        batch.append(item)
        if len(batch) >= BATCH:
            store()
    if batch:
        store()
    report.rejected += misshapen
    report.rejected.sort(key=lambda item: item[0])
    return report
