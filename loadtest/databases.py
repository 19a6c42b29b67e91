"""A throwaway copy of the database for each stage, so every stage starts from the same data.

The load test writes (posts, comments, tokens). Replaying the next stage on the same
database would give it more rows to serve than the stage before, and the comparison
would no longer be like for like. So each stage is served from a clone, dropped after.
"""

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.db import connections


class CloneError(Exception):
    """The database could not be copied."""


@contextmanager
def clone(settings_dict: dict, workdir: Path) -> Iterator[str]:
    """Copy the database described by `settings_dict`; yield a DATABASE_URL for the copy."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        yield from _clone_sqlite(Path(settings_dict["NAME"]), workdir)
    elif engine.endswith("postgresql"):
        yield from _clone_postgresql(settings_dict)
    else:
        raise CloneError(f"replay cannot copy a {engine} database (SQLite and PostgreSQL only)")


def _clone_sqlite(source: Path, workdir: Path):
    target = workdir / "stage.sqlite3"
    # The backup API copies a consistent snapshot, WAL contents included.
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    try:
        yield f"sqlite:///{target}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)


def _clone_postgresql(settings_dict: dict):
    source = settings_dict["NAME"]
    target = f"{source}_replay_{os.getpid()}"
    # CREATE DATABASE ... TEMPLATE needs the source to have no open connection,
    # this process's own persistent one included.
    connections.close_all()
    with maintenance_connection(settings_dict) as admin:
        try:
            admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
        except psycopg.errors.ObjectInUse:
            raise CloneError(
                f"cannot copy database {source!r}: another connection uses it "
                "(a `make serve` on the same database?). Stop it and retry."
            ) from None
    try:
        yield postgres_url(settings_dict, target)
    finally:
        with maintenance_connection(settings_dict) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def maintenance_connection(settings_dict: dict):
    """An autocommit connection to the server's `postgres` database, for CREATE/DROP."""
    return psycopg.connect(
        dbname="postgres",
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None,
        autocommit=True,
    )


def postgres_url(settings_dict: dict, name: str) -> str:
    """A DATABASE_URL for database `name` on the server of `settings_dict`."""
    user = quote(settings_dict.get("USER") or "")
    password = settings_dict.get("PASSWORD")
    credentials = f"{user}:{quote(password)}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{name}"
