"""Response headers that let load tools and readers see what a request cost, and at which stage."""

import re
import time

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


class ServerTimingMiddleware:
    """Adds `Server-Timing: db;dur=<ms>;desc="<n> queries"` to every response.

    The count comes from a query wrapper around the whole request, not from DEBUG's
    query log: that log is off in production settings and stops at 9,000 queries,
    which the naive stage passes. It counts what `is_query()` calls a query; the time
    covers every statement, since waiting for a transaction's lock is time in the
    database too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        queries = 0
        seconds = 0.0

        def count_and_time(execute, sql, params, many, context):
            nonlocal queries, seconds
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                seconds += time.perf_counter() - start
                if is_query(sql):
                    queries += 1

        with connection.execute_wrapper(count_and_time):
            response = self.get_response(request)
        metric = f'db;dur={seconds * 1000:.1f};desc="{queries} queries"'
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
