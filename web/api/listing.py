"""Lists in the API: one page as JSON with flask-smorest's ``X-Pagination`` header, or every row as CSV.

A list view returns a :class:`QueryListing` (a SELECT, filtered and ordered in SQL) or a :class:`RowListing`
(rows already read, e.g. a run's results); :func:`listing` answers it. A page costs two queries, a count
and the page itself, however long the list; a CSV export streams the rows from one query.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import wraps

from sqlalchemy import Select, func, select

from core.db import get_db, get_session

from .export import CSV_TYPE, columns_of, csv_response, wants_csv

ANSWER = ("JSON: one page of items, described by the X-Pagination header. CSV (`format=csv` or "
          "`Accept: text/csv`): every item matching the filters, with a header row.")
#: Rows fetched at a time while a CSV export streams.
STREAM_BATCH = 500


class QueryListing:
    """A list read from one SELECT; ``item`` turns a result row into what the response schema dumps."""

    def __init__(self, statement: Select, item: Callable[[object], object] = lambda row: row):
        self.statement, self.item = statement, item

    def count(self) -> int:
        counted = self.statement.order_by(None).subquery()
        return get_session().scalar(select(func.count()).select_from(counted))

    def page(self, first: int, size: int) -> list:
        return [self.item(row) for row in get_session().execute(self.statement.offset(first).limit(size))]

    def all(self) -> Iterator:
        return self._streamed()

    def _streamed(self) -> Iterator:
        # A session of the export's own, open while the rows stream: the request's is closed as the view returns,
        # before the first row is read, and on PostgreSQL its server-side cursor went with it (every CSV a 500).
        with get_db().read_sessionmaker() as session:
            for row in session.execute(self.statement.execution_options(yield_per=STREAM_BATCH)):
                yield self.item(row)


class RowListing:
    """A list already in memory, in order."""

    def __init__(self, rows: Sequence):
        self.rows = rows

    def count(self) -> int:
        return len(self.rows)

    def page(self, first: int, size: int) -> list:
        return list(self.rows[first:first + size])

    def all(self) -> Iterator:
        return iter(self.rows)


def listing(blp, schema, *, name: str, columns: Callable[..., Sequence[str]] | None = None):
    """Answer a list view: a page of ``schema`` items in JSON, or every item as ``<name>.csv``.

    Apply below ``@blp.arguments``. The view returns a :class:`QueryListing` or :class:`RowListing`.

    :param columns: the CSV columns, from the view's arguments, when the schema's fields cannot say
        (a run's results have one group of columns per metric of its guideline).
    """
    many = schema(many=True)
    one = schema()

    def decorator(view):
        @wraps(view)
        def page(*args, pagination_parameters, **kwargs):
            found = view(*args, **kwargs)
            pagination_parameters.item_count = total = found.count()
            first = pagination_parameters.first_item
            # Past the end there is nothing to read (and an offset beyond 64 bits would not even bind).
            return found.page(first, pagination_parameters.page_size) if first < total else []

        documented = blp.alt_response(200, schema={"type": "string"}, content_type=CSV_TYPE, description=ANSWER)(
            blp.response(200, many, description=ANSWER)(blp.paginate()(page)))

        @wraps(documented)
        def answer(*args, **kwargs):
            if not wants_csv():
                return documented(*args, **kwargs)
            found = view(*args, **kwargs)
            header = columns(*args, **kwargs) if columns else columns_of(one)
            return csv_response((one.dump(item) for item in found.all()), header, name)

        return answer
    return decorator
