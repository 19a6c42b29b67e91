"""Where does a read's time go? A profile of each read endpoint at one stage.

Serves a stage (default `cursor`) in this process from a new SQLite database with 5,000
posts and 5,000 comments (`--posts`), as benchmarks/inprocess.py describes, and for
each read endpoint and a trivial DRF view:

1. times `--requests` requests without a profiler: the CPU milliseconds per request;
2. samples `--requests` more with pyinstrument (every 0.1 ms), and sorts each sample
   by the innermost code it was in: the database driver, the ORM, the serializer
   (building its fields, or filling them for each row), rendering JSON, URLs, Redis,
   DRF's and Django's request handling;
3. prints each part's share of the samples, and that share of the time in (1).

A profiler slows what it watches, calls more than plain code, so the milliseconds per
part are estimates; the shares say where to look.

    .venv/bin/pip install -r benchmarks/requirements.txt   # pyinstrument
    .venv/bin/python benchmarks/profile_reads.py [--stage cursor] [--posts 5000]
    .venv/bin/python benchmarks/profile_reads.py --stage values --html profiles/
"""

import argparse
import platform
import time
from collections import Counter
from pathlib import Path

import inprocess

# Innermost first: a sample belongs to the first frame, from the innermost out, whose
# file matches one of these. Frames of the standard library match none (but json's),
# nor do Django's utilities: a deepcopy or a cached_property inside the serializer
# counts as the serializer's, a URL split inside the pagination as the pagination's.
TRANSPARENT = ("django/utils/", "asgiref/")
PARTS = [
    ("database driver: execute, fetch", ("django/db/backends/", "sqlite3/", "psycopg/")),
    ("ORM: build the query, make rows", ("django/db/models/",)),
    ("Redis", ("redis/", "django_redis/", "django/core/cache/")),
    ("serializer", ("rest_framework/serializers.py", "rest_framework/fields.py",
                    "rest_framework/relations.py")),
    ("render JSON", ("rest_framework/renderers.py", "rest_framework/utils/encoders.py",
                     "/json/", "orjson")),
    ("URLs: reverse, resolve", ("django/urls/", "rest_framework/reverse.py")),
    ("pagination and its links", ("stages/cursor.py", "rest_framework/pagination.py",
                                  "rest_framework/utils/urls.py")),
    ("the stage's row functions", ("stages/values.py",)),
    ("the stage's cache code", ("stages/cached.py",)),
    ("DRF: auth, permissions, negotiation", ("rest_framework/",)),
    ("Django: handler, middleware, response", ("django/", "whitenoise/", "project/")),
]  # fmt: skip


def part_of(stack):
    """The part a sample's stack (outermost first) belongs to."""
    for frame in reversed(stack):
        function, _, rest = frame.partition("\x00")
        path = rest.partition("\x00")[0]
        if any(needle in path for needle in TRANSPARENT):
            continue
        if "stages/values.py" in path and function == "render":
            return "render JSON"  # orjson is C: its time is its caller's
        for name, needles in PARTS:
            if any(needle in path for needle in needles):
                if name == "serializer":
                    # Fields are built lazily, inside the first row's to_representation.
                    building = any(f.startswith("get_fields\x00") for f in stack)
                    return "serializer: build its fields" if building else "serializer: each row"
                return name
    return "other"


def profile(path: str, requests: int, html_dir: Path | None):
    """(ms per request, Counter of seconds by part) for `requests` GETs of `path`."""
    from pyinstrument import Profiler

    for _ in range(20):
        inprocess.get(path)
    ms = inprocess.per_request_ms(path, repeat=requests)
    profiler = Profiler(interval=0.0001)
    profiler.start()
    for _ in range(requests):
        inprocess.get(path)
    profiler.stop()
    seconds = Counter()
    for stack, duration in profiler.last_session.frame_records:
        seconds[part_of(stack)] += duration
    if html_dir:
        html_dir.mkdir(parents=True, exist_ok=True)
        name = path.strip("/").replace("/", "_") or "root"
        (html_dir / f"{name}.html").write_text(profiler.output_html())
    return ms, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="cursor", help="stage to profile (default cursor)")
    parser.add_argument("--posts", type=int, default=5000, help="posts and comments (default 5000)")
    parser.add_argument(
        "--requests", type=int, default=300, help="requests per endpoint (default 300)"
    )
    parser.add_argument(
        "--html", type=Path, help="also write pyinstrument's HTML tree per endpoint here"
    )
    args = parser.parse_args()

    inprocess.setup(args.posts, args.posts)
    from django.urls import path

    inprocess.switch_stage(args.stage)
    inprocess.mount([path("bench/trivial/", inprocess.trivial_view())])
    endpoints = {"trivial DRF view": "/bench/trivial/", **inprocess.endpoints()}
    if args.stage == "cached":
        print("Stage `cached`: every request after the first is a hit.")

    import django

    print(
        f"Stage `{args.stage}`, {args.posts:,} posts and {args.posts:,} comments (SQLite), "
        f"{args.requests} requests per endpoint; Python {platform.python_version()}, "
        f"Django {django.get_version()}, {platform.machine()}."
    )
    started = time.perf_counter()
    for name, url in endpoints.items():
        ms, seconds = profile(url, args.requests, args.html)
        total = sum(seconds.values())
        print(f"\n{name} ({url}): {ms:.2f} CPU ms per request\n")
        print("| where the time goes | share | ms |")
        print("|---|--:|--:|")
        for part in sorted(seconds, key=seconds.get, reverse=True):
            share = seconds[part] / total
            if share >= 0.005:
                print(f"| {part} | {share:.0%} | {share * ms:.2f} |")
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
