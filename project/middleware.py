"""Response headers that let load tools and readers see what a request cost, and at which stage."""

import time

from django.conf import settings
from django.db import connection


class ServerTimingMiddleware:
    """Adds `Server-Timing: db;dur=<ms>;desc="<n> queries"` to every response.

    The count comes from a query wrapper around the whole request, not from DEBUG's
    query log: that log is off in production settings and stops at 9,000 queries,
    which the naive stage passes.
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
