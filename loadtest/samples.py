"""Every request of a load run, as raw samples, for the replay's own statistics.

Locust's statistics are cumulative per name and bucket response times; the replay
needs each request's start and duration (to set the login burst apart) and its query
count from `Server-Timing`. When LOAD_SAMPLES_DIR is set, each Locust process (the
master has none; each worker has its own) writes `samples-<pid>.jsonl` there when the
test stops: one JSON array per request,
`[start_epoch_s, duration_ms, "METHOD name", status, failed, queries or null]`.

Only `record_if_asked` imports Locust, so Django commands can read samples too.
"""

import json
import os
from pathlib import Path
from typing import NamedTuple

from project.middleware import parse

from .endpoints import row


class Sample(NamedTuple):
    """One request of a load run: a line of a samples file, in the same order."""

    start: float  # when it was sent, epoch seconds
    ms: float  # its response time
    name: str  # "METHOD name", its report row (see endpoints.py)
    status: int  # 0 when no response came
    failed: bool
    queries: int | None  # from Server-Timing; None without the header

    @property
    def end(self) -> float:
        """When the response was in, epoch seconds."""
        return self.start + self.ms / 1000


def load(folder: Path) -> list[Sample]:
    """Every sample the Locust processes wrote into `folder`."""
    samples = []
    for path in sorted(folder.glob("samples-*.jsonl")):
        with path.open() as lines:
            samples.extend(Sample(*json.loads(line)) for line in lines if line.strip())
    return samples


def queries_from(response) -> int | None:
    """The query count in a response's Server-Timing header, if it has one."""
    headers = getattr(response, "headers", None) or {}
    return parse(headers.get("Server-Timing")).queries


def record_if_asked():
    folder = os.environ.get("LOAD_SAMPLES_DIR")
    if not folder:
        return
    from locust import events

    recorded = []

    @events.request.add_listener
    def record(request_type, name, response_time, response, exception, start_time=None, **kw):
        status = getattr(response, "status_code", 0) or 0
        recorded.append(
            Sample(
                start_time,
                round(response_time, 3),
                row(request_type, name),
                status,
                exception is not None,
                queries_from(response),
            )
        )

    @events.test_stop.add_listener
    def write(**kwargs):
        if not recorded:
            return
        path = os.path.join(folder, f"samples-{os.getpid()}.jsonl")
        with open(path, "a") as out:
            out.writelines(json.dumps(sample) + "\n" for sample in recorded)
        recorded.clear()
