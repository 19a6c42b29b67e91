"""How the cost of one list page grows with the data: page 1 and a deep page, per stage.

Behind `manage.py measure_pagination`. For each data size a scratch database is
created, migrated and seeded; each stage is served from it by one gunicorn worker with
one thread (the cost of one request is measured, not throughput), and this process
times sequential anonymous GETs of two pages:

- page 1, `/api/posts/`;
- a deep page: `paginated`'s last page (`?page=<last>`), and for `cursor` the page that
  starts at the same row, reached with a cursor built by the stage's own encoder from
  the row just before it. Both deep pages must serve the rows the database lists at
  that position (the correctness guard), so the two stages are timed doing the same job.

`paginated` pays a COUNT(*) and an OFFSET that reads and throws away every row before
the page; `cursor` seeks its index to the cursor. So the first grows with the data
and the second should not.
"""

import json
import os
import sqlite3
import tempfile
import time
import urllib.error
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC
from pathlib import Path
from statistics import median

import dj_database_url
from django.utils.dateparse import parse_datetime

from blog.models import Post
from stages import cursor, paginated

from . import databases, probe
from .server import serve
from .stats import percentile

POSTS = "/api/posts/"
# The stages whose lists come a page at a time, so that there is a deep page to time.
PAGED_STAGES = ("paginated", "cursor")
PAGE_KINDS = ("page 1", "deep page")
# Both stages serve 20 rows a page: the deep pages can only match if they agree.
PAGE_SIZE = paginated.Pagination.page_size
assert cursor.KeysetPagination.page_size == PAGE_SIZE
# Untimed requests before each measurement: the first ones load code, open the
# database connection and warm the caches, which no later request pays again.
WARMUP_REQUESTS = 5
# Generous: a deep OFFSET page of a million rows takes well under a second.
REQUEST_TIMEOUT = 120
# The goal: the cursor's deep page at the largest size costs at most this many times
# what it costs at the smallest.
GOAL_RATIO = 1.5
# The PostgreSQL server used when this project's own database is not PostgreSQL.
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# What the seeder is asked for: the users write the posts; comments play no part here.
SEED_USERS = 20

Progress = Callable[[str], None]


class DepthError(Exception):
    """A measurement could not be trusted: a request failed, or the guard did."""


def postgres_server(database_url: str | None) -> str:
    """The URL of the PostgreSQL server to create scratch databases on: this project's
    own DATABASE_URL when it is PostgreSQL, else DEFAULT_POSTGRES_URL."""
    if database_url and dj_database_url.parse(database_url)["ENGINE"].endswith("postgresql"):
        return database_url
    return DEFAULT_POSTGRES_URL


@contextmanager
def scratch_database(kind: str, size: int, server: str | None) -> Iterator[str]:
    """An empty database of its own; yields its DATABASE_URL and always deletes it."""
    # The pid keeps two runs on one server (a test and a benchmark) apart.
    name = f"depth_{os.getpid()}_{size}"
    with tempfile.TemporaryDirectory(prefix="measure-pagination-") as folder:
        postgres = server if kind == "postgresql" else None
        with databases.empty(name, server=postgres, folder=Path(folder)) as url:
            yield url


def rows_at(url: str, position: int, count: int) -> list[tuple]:
    """(created_at, id) of `count` posts from `position` (0-based), in the cursor
    stage's order: newest first, the higher id first on a tie."""
    table = Post._meta.db_table
    sql = (
        f'SELECT created_at, id FROM "{table}" ORDER BY created_at DESC, id DESC '
        f"LIMIT {int(count)} OFFSET {int(position)}"
    )
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(dj_database_url.parse(url)["NAME"])) as conn:
            rows = conn.execute(sql).fetchall()
        # How Django reads SQLite's datetimes: text in UTC, without an offset.
        return [(parse_datetime(text).replace(tzinfo=UTC), pk) for text, pk in rows]
    with closing(databases.connect(url)) as conn:
        return conn.execute(sql).fetchall()


def deep_pages(url: str, size: int) -> tuple[dict[str, str], list[int], int]:
    """Each stage's path to the deep page, the ids it must serve, and its position.

    The deep page is `paginated`'s last page. `cursor` reaches the same rows with the
    cursor its `next` link would carry after the row just before them.
    """
    last_page = -(-size // PAGE_SIZE)
    position = (last_page - 1) * PAGE_SIZE
    before, *rows = rows_at(url, position - 1, PAGE_SIZE + 1)
    pagination = cursor.KeysetPagination()
    pagination.base_url = POSTS
    cursor_path = pagination.encode_cursor(
        cursor.Cursor(reverse=False, position=cursor.Position(*before))
    )
    paths = {"paginated": f"{POSTS}?page={last_page}", "cursor": cursor_path}
    return paths, [pk for _, pk in rows], position


def time_page(base_url: str, path: str, *, requests: int) -> tuple[dict, list[int]]:
    """Time `requests` sequential GETs of `path` after WARMUP_REQUESTS untimed ones.

    Returns the figures (p50/p95 of the response time as this client saw it, and the
    SQL cost the server reported in Server-Timing) and the ids the page served.
    """
    durations, sql_ms, queries = [], [], []
    for number in range(WARMUP_REQUESTS + requests):
        try:
            response = probe.get(base_url + path, timeout=REQUEST_TIMEOUT)
        except urllib.error.HTTPError as error:
            raise DepthError(f"GET {path} answered {error.code}, not 200") from None
        except (urllib.error.URLError, OSError) as error:
            raise DepthError(f"GET {path} failed: {error}") from None
        status, timing = response.status, response.timing
        if status != 200:
            raise DepthError(f"GET {path} answered {status}, not 200")
        if timing.queries is None or timing.db_ms is None:
            raise DepthError(f"GET {path} has no query count in Server-Timing: {timing.metrics}")
        if number >= WARMUP_REQUESTS:
            durations.append(response.ms)
            sql_ms.append(timing.db_ms)
            queries.append(timing.queries)
    durations.sort()
    figures = {
        "p50_ms": round(percentile(durations, 50), 2),
        "p95_ms": round(percentile(durations, 95), 2),
        "queries": round(median(queries)),
        "sql_ms": round(median(sql_ms), 2),
        "status": status,
        "requests": requests,
    }
    return figures, [row["id"] for row in json.loads(response.body)["results"]]


def measure_size(
    *, kind: str, size: int, stages: list[str], requests: int, server: str | None, say: Progress
) -> tuple[dict, dict]:
    """Seed a scratch database with `size` posts and time both pages at every stage.

    Returns {stage: {page kind: figures}} and the guard's record of the deep page.
    """
    started = time.monotonic()
    with scratch_database(kind, size, server) as url:
        say(f"seeding a scratch {kind} database with {size:,} posts")
        databases.populate(url, users=SEED_USERS, posts=size, comments=0)
        # A bulk load leaves the table without statistics or a visibility map, until
        # autovacuum gets to it, maybe in the middle of a measurement. Do its work now,
        # so every size is measured as a database that has settled would serve it.
        databases.settle(url)
        paths, expected, position = deep_pages(url, size)
        say(
            f"migrated and seeded ({time.monotonic() - started:.0f} s); the deep page "
            f"starts at row {position + 1:,}"
        )
        results, served = {}, {}
        for stage in stages:
            say(f"{stage}: serving")
            with serve(stage, env={"DATABASE_URL": url}, workers=1, threads=1) as base_url:
                first, _ = time_page(base_url, POSTS, requests=requests)
                deep, served[stage] = time_page(base_url, paths[stage], requests=requests)
            results[stage] = {"page 1": first, "deep page": deep}
            say(
                f"{stage}: page 1 p95 {first['p95_ms']:.1f} ms, deep page p95 "
                f"{deep['p95_ms']:.1f} ms ({time.monotonic() - started:.0f} s elapsed)"
            )
    return results, guard(served=served, expected=expected, paths=paths, position=position)


def guard(*, served: dict[str, list[int]], expected: list[int], paths: dict, position: int) -> dict:
    """Check that every stage's deep page served the rows the database lists at
    `position`, so that the stages were timed doing the same job; return the record."""
    for stage, ids in served.items():
        if ids != expected:
            raise DepthError(
                f"{stage}'s deep page ({paths[stage]}) served ids {ids[:3]}...{ids[-3:]}, "
                f"but rows {position + 1:,} on are {expected[:3]}...{expected[-3:]}: "
                "the deep pages are not the same rows"
            )
    return {
        "first_row": position + 1,
        "rows": len(expected),
        "paths": {stage: paths[stage] for stage in served},
        "same_rows": True,
    }


def growth(results: dict, sizes: list[int]) -> dict:
    """p95 at the largest size over p95 at the smallest, per stage and page kind."""
    smallest, largest = str(min(sizes)), str(max(sizes))
    return {
        stage: {
            kind: round(pages[kind][largest]["p95_ms"] / pages[kind][smallest]["p95_ms"], 2)
            for kind in PAGE_KINDS
        }
        for stage, pages in results.items()
    }


def goal(ratios: dict, sizes: list[int]) -> dict:
    """Is the cursor's deep page flat (within GOAL_RATIO) while paginated's grows?"""
    if not {"paginated", "cursor"} <= set(ratios) or len(sizes) < 2:
        return {"met": None, "why": "needs both stages, paginated and cursor, and two sizes"}
    cursor_growth = ratios["cursor"]["deep page"]
    paginated_growth = ratios["paginated"]["deep page"]
    return {
        "met": cursor_growth <= GOAL_RATIO < paginated_growth,
        "limit": GOAL_RATIO,
        "cursor_deep_page_growth": cursor_growth,
        "paginated_deep_page_growth": paginated_growth,
    }
