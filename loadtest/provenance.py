"""The commit a report was made at, and the files that decide its figures.

A committed report goes stale when the code it measured changes. So each report
records in its report.json the commit it was made at and which of the files that
decide its figures had uncommitted changes then (`record`); a test
(tests/test_provenance.py) fails for every reference report whose files have changed
since (`changed_since`), naming them and the command that makes the report anew.

`FIGURE_FILES` is the one list of those files, by kind of report: the API as it is
served, the data it is seeded with, and the code that loads and measures it.
"""

import subprocess

from .server import BASE_DIR

# What every report measures: the API as served, on data the seeder wrote.
SERVED = (
    "blog/",
    "stages/",
    "project/settings.py",
    "project/urls.py",
    "project/middleware.py",
    "project/views.py",
    "gunicorn.conf.py",
    "seed/",
)
FIGURE_FILES = {
    # manage.py replay: the load (locustfile, profiles, their shape, the accounts it
    # logs in as), the copies it serves, the run, and what measures it.
    "replay": SERVED
    + (
        "locustfile.py",
        "loadtest/profiles.py",
        "loadtest/shape.py",
        "loadtest/logins.py",
        "loadtest/databases.py",
        "loadtest/replay.py",
        "loadtest/probe.py",
        "loadtest/samples.py",
        "loadtest/stats.py",
    ),
    # manage.py measure_pagination: its scratch databases and its measuring modules.
    "pagination": SERVED
    + (
        "loadtest/databases.py",
        "loadtest/depth.py",
        "loadtest/probe.py",
        "loadtest/stats.py",
    ),
    # manage.py measure_ceiling: the benchmark's server settings and trivial view, the
    # copy it serves, its load generators, and what measures them.
    "ceiling": SERVED
    + (
        "loadtest/ceiling.py",
        "loadtest/ceiling_settings.py",
        "loadtest/ceiling_urls.py",
        "loadtest/ceiling_locustfile.py",
        "loadtest/generators.py",
        "loadtest/wrk_report.lua",
        "loadtest/databases.py",
    ),
}


class GitError(Exception):
    """git could not answer: no git, not a checkout, or a commit it does not have."""


def _git(*args: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=BASE_DIR, capture_output=True, text=True)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if result.returncode:
        raise GitError(result.stderr.strip())
    return result.stdout


def record(kind: str) -> dict:
    """What report.json says of its source: the kind of report, the commit checked out,
    and the files of FIGURE_FILES[kind] that differed from it (changed, added or
    deleted). The commit is None outside a git checkout."""
    try:
        head = _git("rev-parse", "HEAD").strip()
        status = _git("status", "--porcelain", "--untracked-files=all", "--", *FIGURE_FILES[kind])
    except GitError:
        return {"report": kind, "commit": None, "uncommitted": []}
    # Each line is "XY path" (or "XY old -> new" for a rename).
    uncommitted = sorted(line[3:] for line in status.splitlines())
    return {"report": kind, "commit": head, "uncommitted": uncommitted}


def changed_since(commit: str, kind: str) -> list[str]:
    """The files of FIGURE_FILES[kind] that differ between `commit` and HEAD; GitError
    when this clone does not have `commit`."""
    return _git("diff", "--name-only", commit, "HEAD", "--", *FIGURE_FILES[kind]).split()
