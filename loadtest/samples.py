"""Every request of a load run, as raw samples, for the replay's own statistics.

Locust's statistics are cumulative per name and bucket response times; the replay
needs each request's start and duration (to set the login burst apart), its query
count and cache outcome from `Server-Timing`, and, for a write, which row it created
or changed (for the writes audit). When LOAD_SAMPLES_DIR is set, each Locust process
(the master has none; each worker has its own) writes `samples-<pid>.jsonl` there when
the test stops: one JSON array per request, the fields of `Sample` in order,
`[start_epoch_s, duration_ms, "METHOD name", status, failed, queries or null, ...]`,
the trailing ones left out when they are all null (so a read is six values, as before
they existed).

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
    # Optional, and last, so that a line with only the fields above still reads.
    id: int | None = None  # the row a write created (its 201's id) or targeted
    post: int | None = None  # the post a comment was posted to
    wrote: str | None = None  # the title a post's create or edit sent
    cache: str | None = None  # Server-Timing's `cache` metric: "hit", "miss", "error"

    @property
    def end(self) -> float:
        """When the response was in, epoch seconds."""
        return self.start + self.ms / 1000

    def line(self) -> str:
        """The sample as a line of a samples file, its trailing nulls left out."""
        values = list(self)
        while len(values) > len(REQUIRED) and values[-1] is None:
            values.pop()
        return json.dumps(values) + "\n"


# The fields every line has.
REQUIRED = tuple(name for name in Sample._fields if name not in Sample._field_defaults)


def load(folder: Path) -> list[Sample]:
    """Every sample the Locust processes wrote into `folder`."""
    samples = []
    for path in sorted(folder.glob("samples-*.jsonl")):
        with path.open() as lines:
            samples.extend(Sample(*json.loads(line)) for line in lines if line.strip())
    return samples


def measured(response, context: dict | None = None) -> dict:
    """The optional fields of a response's sample: the query count and cache outcome
    from its Server-Timing header, and the row it wrote, from the `context` the
    locustfile passed with the request (`id`, `post`, `wrote`) or, for a 201, the id
    in its body."""
    headers = getattr(response, "headers", None) or {}
    timing = parse(headers.get("Server-Timing"))
    context = context or {}
    written = context.get("id")
    if written is None and getattr(response, "status_code", 0) == 201:
        written = _created_id(response)
    return {
        "queries": timing.queries,
        "id": written,
        "post": context.get("post"),
        "wrote": context.get("wrote"),
        "cache": timing.metrics.get("cache", {}).get("desc"),
    }


def _created_id(response) -> int | None:
    try:
        created = response.json()
    except ValueError:
        return None
    return created.get("id") if isinstance(created, dict) else None


def record_if_asked():
    folder = os.environ.get("LOAD_SAMPLES_DIR")
    if not folder:
        return
    from locust import events

    recorded = []

    @events.request.add_listener
    def record(
        request_type, name, response_time, response, exception, context=None, start_time=None, **kw
    ):
        recorded.append(
            Sample(
                start=start_time,
                ms=round(response_time, 3),
                name=row(request_type, name),
                status=getattr(response, "status_code", 0) or 0,
                failed=exception is not None,
                **measured(response, context),
            )
        )

    @events.test_stop.add_listener
    def write(**kwargs):
        if not recorded:
            return
        path = os.path.join(folder, f"samples-{os.getpid()}.jsonl")
        with open(path, "a") as out:
            out.writelines(sample.line() for sample in recorded)
        recorded.clear()
