"""Small helpers shared by the tests (fixtures live in conftest.py)."""

import re

from project.middleware import parse

# What ServerTimingMiddleware promises to write, stated here on its own so that the
# tests check the writer against it (parse() reads any Server-Timing header).
SERVER_TIMING_DB = re.compile(r'^db;dur=(\d+\.\d);desc="(\d+) queries"')


def results(response):
    """A list response's rows, whether the stage paginates or not."""
    data = response.json()
    return data["results"] if isinstance(data, dict) else data


def reported_queries(response) -> int:
    """The query count the server put in its Server-Timing header."""
    header = response["Server-Timing"]
    assert SERVER_TIMING_DB.match(header), f"unexpected Server-Timing: {header!r}"
    return parse(header).queries
