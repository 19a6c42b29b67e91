"""Small helpers shared by the tests (fixtures live in conftest.py)."""

import re

SERVER_TIMING_DB = re.compile(r'^db;dur=(\d+\.\d);desc="(\d+) queries"')


def results(response):
    """A list response's rows, whether the stage paginates or not."""
    data = response.json()
    return data["results"] if isinstance(data, dict) else data


def reported_queries(response) -> int:
    """The query count the server put in its Server-Timing header."""
    match = SERVER_TIMING_DB.match(response["Server-Timing"])
    assert match, f"unexpected Server-Timing: {response['Server-Timing']!r}"
    return int(match.group(2))
