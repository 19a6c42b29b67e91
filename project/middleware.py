"""Response headers that let load tools and readers see what a request cost, and at which stage."""

import re
import time
from typing import NamedTuple

from django.conf import settings
from django.db import connection

# Statements that open, end or nest a transaction. They read and write no rows, and
# whether they pass through Django's cursor at all depends on the database: SQLite's
# `BEGIN IMMEDIATE` and a nested atomic block's SAVEPOINT do, PostgreSQL's BEGIN and
# any COMMIT do not.
TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


def is_query(sql: str) -> bool:
    """Whether `sql` counts as a query: it reads or writes rows. Transaction control does
    not, so that a request's count is the same on SQLite and PostgreSQL, and the same in
    a test's transaction as under gunicorn."""
    return not TRANSACTION_CONTROL.match(sql)


class SqlMeter:
    """The queries a request ran (what `is_query()` calls one) and the seconds it spent
    in the database: executing every statement and fetching its rows. Transaction
    control is timed but not counted: waiting for a transaction's lock is time in the
    database too.

    Timing `execute` alone is not enough. A driver returns from `execute` as soon as the
    first row is ready (SQLite's does), and Django fetches the rest afterwards, outside
    any execute wrapper: a 5,000-row join that takes ~15 ms to read showed as 0.1 ms.
    So each cursor's fetches are timed too (see `TimedFetches`).
    """

    def __init__(self):
        self.queries = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        """A `connection.execute_wrapper`: count and time the statement, and time the
        fetches of the cursor that ran it."""
        cursor = context["cursor"]
        if not isinstance(cursor.cursor, TimedFetches):
            cursor.cursor = TimedFetches(cursor.cursor, self)
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            if is_query(sql):
                self.queries += 1


class TimedFetches:
    """A database cursor (the DB-API one, under Django's `CursorWrapper`) whose row
    fetches add their time to a `SqlMeter`; everything else passes straight through."""

    def __init__(self, cursor, meter: SqlMeter):
        self._cursor = cursor
        self._meter = meter

    def _timed(self, fetch, *args):
        start = time.perf_counter()
        try:
            return fetch(*args)
        finally:
            self._meter.seconds += time.perf_counter() - start

    def fetchone(self):
        return self._timed(self._cursor.fetchone)

    def fetchmany(self, *args):
        return self._timed(self._cursor.fetchmany, *args)

    def fetchall(self):
        return self._timed(self._cursor.fetchall)

    def __iter__(self):
        rows = iter(self._cursor)
        while (row := self._timed(next, rows, None)) is not None:
            yield row

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class ServerTimingMiddleware:
    """Adds `Server-Timing: db;dur=<ms>;desc="<n> queries"` to every response: the
    request's queries and the milliseconds it spent running them and reading their rows.

    The count comes from a query wrapper around the whole request, not from DEBUG's
    query log: that log is off in production settings and stops at 9,000 queries,
    which the naive stage passes. See `SqlMeter` for what is counted and timed.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meter = SqlMeter()
        with connection.execute_wrapper(meter):
            response = self.get_response(request)
        metric = f'db;dur={meter.seconds * 1000:.1f};desc="{meter.queries} queries"'
        existing = response.get("Server-Timing")
        response["Server-Timing"] = f"{metric}, {existing}" if existing else metric
        return response


class StageHeaderMiddleware:
    """Adds `X-Stage: <stage>`, so a client knows which stage answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Stage"] = settings.STAGE
        return response


class ServerTiming(NamedTuple):
    """A `Server-Timing` header read back: each metric's parameters (`dur`, `desc`), by
    metric name. `db_ms` and `queries` read the `db` metric ServerTimingMiddleware writes."""

    metrics: dict[str, dict[str, str]]

    @property
    def db_ms(self) -> float | None:
        try:
            return float(self.metrics["db"]["dur"])
        except (KeyError, ValueError):
            return None

    @property
    def queries(self) -> int | None:
        match = re.fullmatch(r"(\d+) queries", self.metrics.get("db", {}).get("desc", ""))
        return int(match.group(1)) if match else None


# The header's grammar (W3C Server Timing): metrics separated by commas, each a name and
# `;param=value` pairs, a value a token or a quoted string (which may hold a comma).
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = rf'\s*;\s*({_TOKEN})\s*=\s*({_TOKEN}|"(?:[^"\\]|\\.)*")'
_METRIC = re.compile(rf"\s*({_TOKEN})((?:{_PARAM})*)\s*(?:,|$)")


def parse(header: str | None) -> ServerTiming:
    """Read a `Server-Timing` header, this middleware's metric and any other beside it.

    `parse('db;dur=1.5;desc="3 queries"')` has `db_ms` 1.5 and `queries` 3. A missing
    header, or one without a `db` metric, gives None for both.
    """
    metrics = {}
    for metric in _METRIC.finditer(header or ""):
        metrics[metric.group(1)] = {
            name: re.sub(r"\\(.)", r"\1", value[1:-1]) if value.startswith('"') else value
            for name, value in re.findall(_PARAM, metric.group(2))
        }
    return ServerTiming(metrics)
