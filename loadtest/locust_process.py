"""Locust as a child process: one builder for its command line, and a run that reports
progress while it lasts and always stops Locust and the workers it forked."""

import csv
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from signal import SIGTERM

from .server import BASE_DIR, stop_group

LOCUSTFILE = BASE_DIR / "locustfile.py"
# A slow stage can overrun the profile by its slowest requests; then give up.
OVERRUN_SECONDS = 120


class LoadRunError(Exception):
    """Locust could not run (not: requests failed, which the report counts)."""


def command(
    *,
    host: str | None = None,
    locustfile: Path = LOCUSTFILE,
    users: int | None = None,
    spawn_rate: float | None = None,
    run_time: float | None = None,
    processes: int = 0,
    csv_prefix: Path | None = None,
    html: Path | None = None,
    stop_timeout: float | None = None,
    exit_code_on_error: int | None = None,
    options: Mapping[str, object] | None = None,
) -> list[str]:
    """`python -m locust --headless --only-summary` and the options given: Locust's own
    as arguments (left out when None, so the locustfile's shape or locust.conf decides),
    the locustfile's own in `options` ({"--think-time-scale": 0, ...}).

    `users` all start in the first second unless `spawn_rate` says otherwise (Locust's
    own default, one a second, would make a short run mostly ramp-up).
    """
    given = {
        "--locustfile": locustfile,
        "--host": host,
        "--users": users,
        "--spawn-rate": spawn_rate or users,
        "--run-time": f"{run_time:g}s" if run_time is not None else None,
        "--processes": processes or None,
        "--csv": csv_prefix,
        "--html": html,
        "--stop-timeout": stop_timeout,
        "--exit-code-on-error": exit_code_on_error,
        **(options or {}),
    }
    arguments = [sys.executable, "-m", "locust", "--headless", "--only-summary"]
    for option, value in given.items():
        if value is not None:
            arguments += [option, str(value)]
    return arguments


def throughput_command(
    host: str, *, locustfile: Path, users: int, seconds: float, options=None
) -> list[str]:
    """A throughput run's command: every user from the first second to the end. Failed
    requests are counted in the samples; a non-zero exit means Locust itself broke."""
    return command(
        host=host,
        locustfile=locustfile,
        users=users,
        run_time=seconds,
        exit_code_on_error=0,
        options=options,
    )


def start(arguments: list[str], *, env: dict[str, str], output=subprocess.DEVNULL):
    """Start Locust from this repository's folder; its output, stderr too, to `output`.
    Returns the Popen of a process group of its own, which `server.stop_group` stops."""
    return subprocess.Popen(
        arguments,
        cwd=BASE_DIR,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        # Its own process group, so that stopping it reaches every worker.
        start_new_session=True,
    )


def run(
    arguments: list[str],
    *,
    env: dict[str, str],
    log_path: Path,
    expected_seconds: float,
    progress: Callable[[str], None],
) -> None:
    """Run Locust until it ends; every few seconds, `progress` gets a line of elapsed
    time, users and current RPS (from the `--csv` history, when asked for)."""
    history = _history(arguments)
    with log_path.open("w") as log:
        process = start(arguments, env=env, output=log)
        stop_watching = threading.Event()
        watcher = threading.Thread(
            target=_watch,
            args=(history, expected_seconds, progress, stop_watching),
            daemon=True,
        )
        watcher.start()
        try:
            finish(process, log_path=log_path, seconds=expected_seconds + OVERRUN_SECONDS)
        finally:
            stop_watching.set()
            watcher.join()


def finish(process: subprocess.Popen, *, log_path: Path, seconds: float) -> None:
    """Wait up to `seconds` for Locust to end, then stop it and any worker processes it
    forked (--processes). LoadRunError, with the end of its log (`log_path`), when it
    did not end in time or exited with an error."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        raise LoadRunError(f"Locust did not finish within {seconds:.0f} s") from None
    finally:
        stop_group(process, SIGTERM)
    if process.returncode:
        tail = log_path.read_text().splitlines()[-15:]
        raise LoadRunError(f"Locust exited with {process.returncode}:\n" + "\n".join(tail))


def _history(arguments: list[str]) -> Path | None:
    if "--csv" not in arguments:
        return None
    return Path(f"{arguments[arguments.index('--csv') + 1]}_stats_history.csv")


def _watch(history: Path | None, expected_seconds: float, progress, stop: threading.Event):
    started = time.monotonic()
    while not stop.wait(5):
        line = _last_aggregated(history) if history else None
        elapsed = time.monotonic() - started
        if line:
            progress(
                f"{elapsed:4.0f}/{expected_seconds:.0f} s  {line['User Count']:>4} users  "
                f"{float(line['Requests/s']):7.1f} rps  {line['Total Failure Count']} failures"
            )


def _last_aggregated(history: Path) -> dict | None:
    try:
        with history.open() as rows:
            last = None
            for row in csv.DictReader(rows):
                if row.get("Name") == "Aggregated":
                    last = row
            return last
    except (FileNotFoundError, csv.Error):
        return None
