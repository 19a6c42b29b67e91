"""What a report says about where it was measured: the machine, the software, the
database, so that a reader can tell whether their figures should match."""

import os
import platform
import sqlite3
from contextlib import closing
from importlib.metadata import version

from . import databases


def machine() -> dict:
    """The CPU count and the Python and Django versions."""
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "django": version("django"),
    }


def database_version(postgres: str | None) -> str:
    """Name and version of the database the stages read, e.g. SQLite 3.40.1: the
    PostgreSQL server `postgres` (a URL) names, or SQLite when it is None."""
    if postgres is None:
        return f"SQLite {sqlite3.sqlite_version}"
    with closing(databases.admin(postgres)) as conn:
        (server_version,) = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {server_version.split()[0]}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was around a run."""
    return " / ".join(f"{load:.2f}" for load in os.getloadavg())
