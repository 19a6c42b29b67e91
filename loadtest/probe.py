"""Single requests to a served stage, timed by this process: what `curl -i` would show.

The load itself comes from Locust (locust_process.py); these are the requests around
it, one at a time: how much data the server holds, what one request costs on the idle
server, and each page `measure_pagination` times.
"""

import json
import time
import urllib.request
from typing import NamedTuple

from project.middleware import ServerTiming, parse


class Timed(NamedTuple):
    """One GET as this client saw it: from sending it to reading the last byte."""

    status: int
    ms: float
    body: bytes
    timing: ServerTiming  # the server's own account, from its Server-Timing header


def get(url: str, *, timeout: float) -> Timed:
    """GET `url` once, timed. An HTTP error status raises urllib's HTTPError."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = response.read()
        status, header = response.status, response.headers.get("Server-Timing")
    return Timed(status, (time.perf_counter() - started) * 1000, body, parse(header))


def health(base_url: str) -> dict:
    """What /api/health/ says: the stage, and how much data it serves."""
    return json.loads(get(f"{base_url}/api/health/", timeout=30).body)


def single_requests(base_url: str, paths: tuple[str, ...]) -> dict:
    """One anonymous GET of each path, by "GET <path>": its time, the SQL time and query
    count from Server-Timing, and the size of the response."""
    figures = {}
    for path in paths:
        response = get(f"{base_url}{path}", timeout=120)
        figures[f"GET {path}"] = {
            "ms": round(response.ms, 1),
            "db_ms": response.timing.db_ms,
            "queries": response.timing.queries,
            "bytes": len(response.body),
        }
    return figures
