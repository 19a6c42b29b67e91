"""Single requests to a served stage, timed by this process: what `curl -i` would show.

The load itself comes from Locust (locust_process.py); these are the requests around
it, one at a time: how much data the server holds, what one request costs on the idle
server (cold, then warm), and each page `measure_pagination` times.
"""

import http.client
import json
import time
import urllib.request
from collections import Counter
from statistics import median_low
from typing import NamedTuple
from urllib.parse import urlsplit

import psutil

from project.middleware import ServerTiming, parse

from .server import ServerError

# Before the warm figures, every gunicorn worker answers each probed path this many
# times. A worker's first request for a path loads code, opens the database connection
# and fills caches (a 20-row page took 167 ms where a warm one took single-digit ms);
# its next ones reuse all that. More would cost a minute at the `naive` stage, whose
# lists take seconds each.
WARM_UP_PER_WORKER = 1
# The warm figures are the median of this many requests, each on a new connection.
WARM_REQUESTS = 5
# Which worker accepts a new connection is up to the workers; give up on one that has
# not answered a path after this many requests for it per worker.
WARM_UP_LIMIT = 25
REQUEST_TIMEOUT = 120


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


def single_requests(base_url: str, paths: dict[str, str], *, server_pid: int) -> tuple[dict, dict]:
    """What one anonymous GET of each path costs the idle server, cold and warm.

    `paths` maps a report row's name to the path to request. Each figure set holds the
    time this client saw, the SQL time and query count from Server-Timing, and the size
    of the response:

    - "cold": the first request for the path that the fresh server answered;
    - "warm": the median of WARM_REQUESTS more, sent after every worker of the server
      (the gunicorn master `server_pid`'s children) answered the path
      WARM_UP_PER_WORKER times (`warm_up`).

    Every request goes on a new connection, as `curl` sends it. Returns the figures by
    name, and the warm-up's record.
    """
    cold = {name: _fetch(base_url, path) for name, path in paths.items()}
    warm_up_record = warm_up(base_url, list(paths.values()), server_pid=server_pid)
    figures = {}
    for name, path in paths.items():
        warm = [_fetch(base_url, path) for _ in range(WARM_REQUESTS)]
        figures[name] = {
            "path": path,
            "cold": _figures([cold[name]]),
            "warm": {**_figures(warm), "requests": WARM_REQUESTS},
        }
    return figures, warm_up_record


def warm_up(
    base_url: str, paths: list[str], *, server_pid: int, per_worker: int = WARM_UP_PER_WORKER
) -> dict:
    """GET each path, each time on a new connection, until every worker of the server
    has answered it `per_worker` times; how many workers and requests that took.

    gunicorn's workers take new connections as each happens to accept them, so it is
    not known in advance which worker answers: the worker holding the server's end of
    the connection, still open, is looked up after each answer.
    """
    workers = worker_pids(server_pid)
    answered: Counter = Counter()
    sent = 0
    for path in paths:
        for _ in range(WARM_UP_LIMIT * len(workers)):
            if all(answered[worker, path] >= per_worker for worker in workers):
                break
            _, connection = _fetch_keeping_open(base_url, path)
            try:
                answered[worker_holding(connection, workers), path] += 1
            finally:
                connection.close()
            sent += 1
        else:
            silent = sorted(w for w in workers if answered[w, path] < per_worker)
            raise ServerError(
                f"gunicorn worker(s) {silent} answered GET {path} fewer than {per_worker} "
                f"times in {WARM_UP_LIMIT * len(workers)} requests: cannot warm them up"
            )
    return {"workers": len(workers), "per_worker": per_worker, "requests": sent}


def worker_pids(server_pid: int) -> set[int]:
    """The worker processes of the gunicorn master `server_pid`."""
    return {child.pid for child in psutil.Process(server_pid).children()}


def worker_holding(connection: http.client.HTTPConnection, workers: set[int]) -> int | None:
    """Which of `workers` holds the server's end of `connection` (an open connection
    to it), or None."""
    port = connection.sock.getsockname()[1]
    for pid in workers:
        try:
            held = psutil.Process(pid).net_connections("tcp")
        except psutil.NoSuchProcess:
            continue
        if any(c.raddr and c.raddr.port == port for c in held):
            return pid
    return None


def _fetch(base_url: str, path: str) -> Timed:
    response, connection = _fetch_keeping_open(base_url, path)
    connection.close()
    return response


def _fetch_keeping_open(base_url: str, path: str) -> tuple[Timed, http.client.HTTPConnection]:
    """GET `path` on a new connection, timed from connecting to reading the last byte;
    the connection is left open (gunicorn keeps it alive) for `worker_holding`."""
    where = urlsplit(base_url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=REQUEST_TIMEOUT)
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    ms = (time.perf_counter() - started) * 1000
    if response.status != 200:
        connection.close()
        raise ServerError(f"GET {path} answered {response.status}, not 200")
    return Timed(response.status, ms, body, parse(response.getheader("Server-Timing"))), connection


def _figures(responses: list[Timed]) -> dict:
    """Each figure's median over `responses` (the lower middle one: a figure one of
    them had); None for a figure the server did not report."""

    def middle(values):
        return None if None in values else median_low(values)

    return {
        "ms": round(median_low(r.ms for r in responses), 1),
        "db_ms": middle([r.timing.db_ms for r in responses]),
        "queries": middle([r.timing.queries for r in responses]),
        "bytes": median_low(len(r.body) for r in responses),
    }
