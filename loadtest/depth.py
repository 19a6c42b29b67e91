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
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC
from pathlib import Path
from statistics import median

import dj_database_url
import psycopg
from django.utils.dateparse import parse_datetime

from blog.models import Post
from stages import cursor, paginated

from .databases import maintenance_connection, postgres_url
from .report import percentile
from .server import BASE_DIR, serve

POSTS = "/api/posts/"
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
SERVER_TIMING = re.compile(r'db;dur=([\d.]+);desc="(\d+) queries"')

Progress = Callable[[str], None]


class DepthError(Exception):
    """A measurement could not be trusted: a request failed, or the guard did."""


def postgres_server(settings_dict: dict) -> dict:
    """Connection settings of the PostgreSQL server to create scratch databases on:
    this project's own when it uses PostgreSQL, else DEFAULT_POSTGRES_URL's."""
    if settings_dict["ENGINE"].endswith("postgresql"):
        return settings_dict
    return dj_database_url.parse(DEFAULT_POSTGRES_URL)


def database_version(kind: str, server: dict | None) -> str:
    """Name and version of the database the stages read, e.g. SQLite 3.40.1."""
    if kind == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with maintenance_connection(server) as admin:
        (version,) = admin.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {version.split()[0]}"


@contextmanager
def scratch_database(kind: str, size: int, server: dict | None) -> Iterator[str]:
    """An empty database of its own; yields its DATABASE_URL and always deletes it."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="measure-pagination-") as folder:
            yield f"sqlite:///{Path(folder) / f'depth_{size}.sqlite3'}"
        return
    # The pid keeps two runs on one server (a test and a benchmark) apart.
    name = f"depth_{os.getpid()}_{size}"
    with maintenance_connection(server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(server, name)
    finally:
        with maintenance_connection(server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def populate(url: str, size: int) -> None:
    """Migrate the database at `url` and seed `size` posts, as a reader would."""
    for command in (
        ["migrate", "--noinput", "-v0"],
        ["seed_posts", "--users", str(SEED_USERS), "--posts", str(size), "--comments", "0", "-v0"],
    ):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=BASE_DIR,
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise DepthError(f"`manage.py {command[0]}` failed:\n{result.stderr[-2000:]}")
    if url.startswith("postgres"):
        # A bulk load leaves the table without statistics or a visibility map, until
        # autovacuum gets to it, maybe in the middle of a measurement. Do its work now,
        # so every size is measured as a database that has settled would serve it.
        with closing(psycopg.connect(url, autocommit=True)) as conn:
            conn.execute("VACUUM (ANALYZE)")


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
    # libpq reads a postgres:// DATABASE_URL as it is.
    with closing(psycopg.connect(url)) as conn:
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
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(base_url + path, timeout=REQUEST_TIMEOUT) as response:
                body = response.read()
                status, timing = response.status, response.headers.get("Server-Timing", "")
        except urllib.error.HTTPError as error:
            raise DepthError(f"GET {path} answered {error.code}, not 200") from None
        except (urllib.error.URLError, OSError) as error:
            raise DepthError(f"GET {path} failed: {error}") from None
        elapsed_ms = (time.perf_counter() - started) * 1000
        if status != 200:
            raise DepthError(f"GET {path} answered {status}, not 200")
        match = SERVER_TIMING.search(timing)
        if not match:
            raise DepthError(f"GET {path} has no query count in Server-Timing: {timing!r}")
        if number >= WARMUP_REQUESTS:
            durations.append(elapsed_ms)
            sql_ms.append(float(match.group(1)))
            queries.append(int(match.group(2)))
    durations.sort()
    figures = {
        "p50_ms": round(percentile(durations, 50), 2),
        "p95_ms": round(percentile(durations, 95), 2),
        "queries": round(median(queries)),
        "sql_ms": round(median(sql_ms), 2),
        "status": status,
        "requests": requests,
    }
    return figures, [row["id"] for row in json.loads(body)["results"]]


def measure_size(
    *, kind: str, size: int, stages: list[str], requests: int, server: dict | None, say: Progress
) -> tuple[dict, dict]:
    """Seed a scratch database with `size` posts and time both pages at every stage.

    Returns {stage: {page kind: figures}} and the guard's record of the deep page.
    """
    started = time.monotonic()
    with scratch_database(kind, size, server) as url:
        say(f"seeding a scratch {kind} database with {size:,} posts")
        populate(url, size)
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


def goal_line(verdict: dict, sizes: list[int]) -> str:
    if verdict["met"] is None:
        return f"goal not checked: {verdict['why']}"
    span = f"{min(sizes):,} to {max(sizes):,} posts"
    return (
        f"goal {'met' if verdict['met'] else 'missed'}: from {span}, the cursor's deep-page "
        f"p95 grew {verdict['cursor_deep_page_growth']:g}x (limit {verdict['limit']:g}x), "
        f"paginated's {verdict['paginated_deep_page_growth']:g}x (must exceed "
        f"{verdict['limit']:g}x)"
    )


def table(report: dict, kind: str) -> str:
    """A markdown table of one page kind: sizes down, each stage's p50, p95 and SQL
    across, and the p95's growth from the smallest size to the largest."""
    stages, sizes = list(report["results"]), report["sizes"]
    lines = [
        "| posts | "
        + " | ".join(f"{stage} p50 | {stage} p95 | {stage} SQL (queries)" for stage in stages)
        + " |",
        "|---:|" + "---:|---:|---:|" * len(stages),
    ]
    for size in sizes:
        cells = []
        for stage in stages:
            f = report["results"][stage][kind][str(size)]
            cells += [f"{f['p50_ms']:.1f} ms", f"{f['p95_ms']:.1f} ms"]
            cells.append(f"{f['sql_ms']:.1f} ms ({f['queries']})")
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    if len(sizes) > 1:
        cells = []
        for stage in stages:
            cells += ["", f"{report['growth_p95'][stage][kind]:.2f}x", ""]
        lines.append(f"| p95 growth, {max(sizes):,} / {min(sizes):,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tables(report: dict) -> str:
    """Both tables, each under its page kind, as the command prints them."""
    return "\n\n".join(f"{kind}:\n{table(report, kind)}" for kind in PAGE_KINDS)


def write(out: Path, report: dict) -> None:
    """report.json, report.md and chart.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    write_chart(out / "chart.png", report)
    env = report["environment"]
    guard_rows = "\n".join(
        f"| {int(size):,} | {g['first_row']:,} | {g['rows']} | "
        + " | ".join(f"`{path}`" for path in g["paths"].values())
        + " | yes |"
        for size, g in report["deep_pages"].items()
    )
    stages = list(report["results"])
    settle = " and `VACUUM (ANALYZE)`" if report["database"] == "postgresql" else ""
    markdown = f"""# Pagination depth: what a list page costs as the data grows

Command: `{report["command"]}`

- Data: one scratch {env["database"]} database per size, seeded with
  `seed_posts --users {SEED_USERS} --posts <size> --comments 0`{settle}, dropped after.
- Server: gunicorn {env["gunicorn"]}, {env["server"]}: each figure is the cost of
  one request, not throughput.
- Client: {env["client"]}; {env["requests_per_measurement"]} timed requests per cell
  after {env["warmup_requests"]} untimed ones.
- Figures: p50 and p95 (nearest rank) of the response time as the client saw it; the
  median SQL time and the query count from `Server-Timing`.
- Machine: {env["cpu_count"]} CPUs, Python {env["python"]}, Django {env["django"]}; load
  average (1 / 5 / 15 min) {env["load_average_start"]} at the start and
  {env["load_average_end"]} at the end. Other work on the machine shows in the tails.

![latency against rows, log-log](chart.png)

## Page 1: `{POSTS}`

{table(report, "page 1")}

## Deep page: the last page

{table(report, "deep page")}

The deep page is `paginated`'s last page; `cursor` serves the page that starts at the
same row, from a cursor built by the stage's own encoder. The guard: every stage's deep
page served the rows the database lists at that position, so each did the same job.

| posts | first row | rows | {" | ".join(stages)} | same rows |
|---:|---:|---:|{"---|" * len(stages)}---|
{guard_rows}

## Goal

{goal_line(report["goal"], report["sizes"])}.
"""
    (out / "report.md").write_text(markdown)


def write_chart(path: Path, report: dict) -> None:
    """Latency against rows on log-log axes: a line per stage and page kind, p95
    solid, p50 dashed in the same colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    sizes = report["sizes"]
    fig, axes = plt.subplots(figsize=(9, 6))
    colour = 0
    for stage, pages in report["results"].items():
        for kind in PAGE_KINDS:
            figures = [pages[kind][str(size)] for size in sizes]
            style = {"color": f"C{colour}", "marker": "o"}
            axes.plot(
                sizes, [f["p95_ms"] for f in figures], "-", label=f"{stage}, {kind}, p95", **style
            )
            axes.plot(
                sizes, [f["p50_ms"] for f in figures], "--", label=f"{stage}, {kind}, p50", **style
            )
            colour += 1
    axes.set_xscale("log")
    axes.set_yscale("log")
    # Plain numbers, not powers of ten: the sizes are the ones measured.
    axes.set_xticks(sizes, [f"{size:,}" for size in sizes])
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.yaxis.set_major_formatter(FuncFormatter(lambda ms, _: f"{ms:g}"))
    low, high = axes.get_ylim()
    # Label 2s and 5s between the powers of ten; every tick when they span one decade.
    shown = "123456789" if high / low < 10 else "25"
    axes.yaxis.set_minor_formatter(
        FuncFormatter(lambda ms, _: f"{ms:g}" if f"{ms:g}"[0] in shown else "")
    )
    axes.set_xlabel("posts in the table (log scale)")
    axes.set_ylabel("response time, ms (log scale)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(
        f"One list page as the data grows, {report['environment']['database']}\n"
        "p95 solid, p50 dashed; one gunicorn worker, one thread, sequential requests"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
