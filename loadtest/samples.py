"""Every request of a load run, as raw samples, for the replay's own statistics.

Locust's statistics are cumulative per name and bucket response times; the replay
needs each request's start and duration (to set the login burst apart) and its query
count from `Server-Timing`. When LOAD_SAMPLES_DIR is set, each Locust process (the
master has none; each worker has its own) writes `samples-<pid>.jsonl` there when the
test stops: one JSON array per request,
`[start_epoch_s, duration_ms, "METHOD name", status, failed, queries or null]`.
"""

import json
import os
import re

from locust import events

SERVER_TIMING_QUERIES = re.compile(r'(?:^|,)\s*db;[^,]*desc="(\d+) queries"')


def queries_from(response) -> int | None:
    """The query count in a response's Server-Timing header, if it has one."""
    headers = getattr(response, "headers", None) or {}
    match = SERVER_TIMING_QUERIES.search(headers.get("Server-Timing") or "")
    return int(match.group(1)) if match else None


def record_if_asked():
    folder = os.environ.get("LOAD_SAMPLES_DIR")
    if not folder:
        return
    recorded = []

    @events.request.add_listener
    def record(request_type, name, response_time, response, exception, start_time=None, **kw):
        status = getattr(response, "status_code", 0) or 0
        recorded.append(
            [
                start_time,
                round(response_time, 3),
                f"{request_type} {name}",
                status,
                exception is not None,
                queries_from(response),
            ]
        )

    @events.test_stop.add_listener
    def write(**kwargs):
        if not recorded:
            return
        path = os.path.join(folder, f"samples-{os.getpid()}.jsonl")
        with open(path, "a") as out:
            out.writelines(json.dumps(sample) + "\n" for sample in recorded)
        recorded.clear()
