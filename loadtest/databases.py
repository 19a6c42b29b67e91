"""The databases a load run makes, fills and drops, on SQLite or PostgreSQL.

- `clone`: a throwaway copy of this project's database for each replayed stage. The
  load test writes (posts, comments, tokens); replaying the next stage on the same
  database would give it more rows to serve than the stage before, and the comparison
  would no longer be like for like. So each stage is served from a clone, dropped after,
  settled first (`settle`) on PostgreSQL; `add_accounts` gives it more seeded accounts.
- `empty`: a new database of its own, dropped after: `measure_pagination`'s scratch
  databases, and the tests' live servers (whose rows must be committed, which the test
  database's never are).
- `populate`: migrate a database and seed it, with `manage.py` in a subprocess (`manage`),
  as a reader would.

A PostgreSQL server is named by a DATABASE_URL; every URL made here is that URL with
another database name, so its options (`?sslmode=require`, ...) carry over.
"""

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
from django.conf import settings
from django.db import connections

from .server import BASE_DIR


class DatabaseSetupError(Exception):
    """A database could not be copied, or migrated and seeded."""


def project_server() -> str | None:
    """This project's DATABASE_URL when it is PostgreSQL (the server to make databases
    on), else None."""
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return None
    return os.environ["DATABASE_URL"]


def with_name(url: str, name: str) -> str:
    """`url` with the database `name` instead of its own; user, host and options kept."""
    return urlsplit(url)._replace(path=f"/{quote(name)}").geturl()


def connect(url: str, **options) -> psycopg.Connection:
    """A psycopg connection to the PostgreSQL database `url` names."""
    # libpq reads the URL itself; it knows the postgres:// and postgresql:// schemes,
    # not dj-database-url's other spellings (pgsql://, postgis://).
    return psycopg.connect(urlsplit(url)._replace(scheme="postgresql").geturl(), **options)


def admin(server: str) -> psycopg.Connection:
    """An autocommit connection to the `postgres` database of the server `server` names,
    for CREATE and DROP DATABASE."""
    return connect(with_name(server, "postgres"), autocommit=True)


def _create(server: str, name: str, *, template: str | None = None) -> str:
    with admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return with_name(server, name)


def _drop(server: str, name: str) -> None:
    with admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def empty(name: str, *, server: str | None, folder: Path) -> Iterator[str]:
    """A new, empty database `name`: on the PostgreSQL `server` (a URL) if given, else a
    SQLite file in `folder`. Yields its DATABASE_URL; it is dropped on leaving."""
    if server is None:
        path = folder / f"{name}.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            _remove_sqlite(path)
        return
    url = _create(server, name)
    try:
        yield url
    finally:
        _drop(server, name)


@contextmanager
def clone(workdir: Path) -> Iterator[str]:
    """Copy this project's database; yield a DATABASE_URL for the copy, dropped on leaving.

    A SQLite copy goes into `workdir`; a PostgreSQL one is a database beside the original,
    settled: a copy holds the original's statistics and visibility map as they were, and
    rows written since its last VACUUM have neither (when autovacuum is off or behind).
    """
    source = settings.DATABASES["default"]
    if source["ENGINE"].endswith("sqlite3"):
        target = workdir / "stage.sqlite3"
        # The backup API copies a consistent snapshot, WAL contents included.
        with (
            closing(sqlite3.connect(source["NAME"])) as original,
            closing(sqlite3.connect(target)) as copy,
        ):
            original.backup(copy)
        try:
            yield f"sqlite:///{target}"
        finally:
            _remove_sqlite(target)
        return
    server = project_server()
    if server is None:
        raise DatabaseSetupError(
            f"replay cannot copy a {source['ENGINE']} database (SQLite and PostgreSQL only)"
        )
    name = f"{source['NAME']}_replay_{os.getpid()}"
    # CREATE DATABASE ... TEMPLATE needs the source to have no open connection, this
    # process's own persistent one included.
    connections.close_all()
    try:
        url = _create(server, name, template=source["NAME"])
    except psycopg.errors.ObjectInUse:
        raise DatabaseSetupError(
            f"cannot copy database {source['NAME']!r}: another connection uses it "
            "(a `make serve` on the same database?). Stop it and retry."
        ) from None
    try:
        settle(url)
        yield url
    finally:
        _drop(server, name)


def manage(*args: str, database_url: str, timeout: float | None = None):
    """Run `python manage.py <args>` against `database_url`, as a reader would; the
    CompletedProcess, its output captured."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def populate(url: str, *, users: int, posts: int, comments: int, timeout=None) -> None:
    """Migrate the database at `url` and seed it with `manage.py seed_posts`."""
    seed = ["--users", str(users), "--posts", str(posts), "--comments", str(comments)]
    for command in (["migrate", "--noinput", "-v0"], ["seed_posts", *seed, "-v0"]):
        _manage_or_fail(command, url, timeout)


def add_accounts(url: str, *, count: int, password: str, timeout=None) -> None:
    """Make the seeded accounts user1 ... user<count> exist in the database at `url`,
    each logging in with `password`, and add nothing else (`manage.py seed_posts`)."""
    seed = ["--users", str(count), "--posts", "0", "--comments", "0", "--password", password]
    _manage_or_fail(["seed_posts", *seed, "-v0"], url, timeout)


def _manage_or_fail(command: list[str], url: str, timeout) -> None:
    result = manage(*command, database_url=url, timeout=timeout)
    if result.returncode:
        raise DatabaseSetupError(f"`manage.py {command[0]}` failed:\n{result.stderr[-2000:]}")


def settle(url: str) -> None:
    """On PostgreSQL, do now what autovacuum would do after a bulk load, maybe in the
    middle of a measurement: gather statistics and build the visibility map.

    Without them the planner guesses, and `paginated`'s COUNT(*) reads every page of
    the table (a Seq Scan, 307 pages at 5,000 posts) instead of the smallest index (an
    Index Only Scan, 7 pages): benchmarks/count_plan.py shows both plans."""
    if urlsplit(url).scheme.startswith("sqlite"):
        return
    with closing(connect(url, autocommit=True)) as conn:
        conn.execute("VACUUM (ANALYZE)")
