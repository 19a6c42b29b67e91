"""Replay one load profile against one stage: clone the data, serve, run Locust, collect."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from . import databases, report
from .server import BASE_DIR, serve, stop_group


class LoadRunError(Exception):
    """Locust could not run (not: requests failed, which the report counts)."""


def run_stage(
    stage: str,
    *,
    stage_dir: Path,
    settings_dict: dict,
    profile: str,
    users: int | None,
    run_time: float | None,
    expected_seconds: float,
    processes: int,
    server_workers: int,
    server_threads: int,
    password: str,
    think_time_scale: float,
    writer_weight: int,
    progress: Callable[[str], None],
) -> dict:
    """Serve `stage` on a copy of the database, run the profile, return its figures."""
    stage_dir.mkdir(parents=True, exist_ok=True)
    with databases.clone(settings_dict, stage_dir) as database_url:
        with serve(
            stage,
            env={"DATABASE_URL": database_url},
            workers=server_workers,
            threads=server_threads,
            log_path=stage_dir / "server.log",
        ) as url:
            started_from = _health(url)
            single_requests = _probe(url)
            _run_locust(
                url,
                stage_dir=stage_dir,
                profile=profile,
                users=users,
                run_time=run_time,
                expected_seconds=expected_seconds,
                processes=processes,
                password=password,
                think_time_scale=think_time_scale,
                writer_weight=writer_weight,
                progress=progress,
            )
            ended_with = _health(url)
    samples = report.load_samples(stage_dir)
    result = report.summarize(samples)
    result["started_from"] = started_from
    result["single_requests"] = single_requests
    result["writes"] = report.audit_writes(samples, before=started_from, after=ended_with)
    return result


def _health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/api/health/", timeout=30) as response:
        data = json.loads(response.read())
    return {key: data[key] for key in ("posts", "comments", "seeded_users")}


# One anonymous request each, on the idle server before the load: what a reader sees
# with `curl -i`, for the walkthrough's "measure first" step.
PROBED = ("/api/posts/", "/api/comments/")


def _probe(url: str) -> dict:
    """Time one request per PROBED path; keep its Server-Timing and size."""
    figures = {}
    for path in PROBED:
        start = time.perf_counter()
        with urllib.request.urlopen(f"{url}{path}", timeout=120) as response:
            size = len(response.read())
            timing = response.headers.get("Server-Timing", "")
        match = re.match(r'db;dur=([\d.]+);desc="(\d+) queries"', timing)
        figures[f"GET {path}"] = {
            "ms": round((time.perf_counter() - start) * 1000, 1),
            "db_ms": float(match.group(1)) if match else None,
            "queries": int(match.group(2)) if match else None,
            "bytes": size,
        }
    return figures


def _run_locust(
    url,
    *,
    stage_dir,
    profile,
    users,
    run_time,
    expected_seconds,
    processes,
    password,
    think_time_scale,
    writer_weight,
    progress,
):
    options = {
        "--locustfile": str(BASE_DIR / "locustfile.py"),
        "--host": url,
        "--csv": str(stage_dir / "locust"),
        "--html": str(stage_dir / "locust.html"),
        "--seed-password": password,
        "--think-time-scale": str(think_time_scale),
        "--writer-weight": str(writer_weight),
        # Failed requests are counted in the report; a non-zero exit means Locust broke.
        "--exit-code-on-error": "0",
        # When the profile ends, let each user's request in flight finish rather than
        # cutting it off: a write the server completes after its client was killed would
        # be a row with no 201, and the writes audit would call it lost.
        "--stop-timeout": "60",
    }
    command = [sys.executable, "-m", "locust", "--headless", "--only-summary"]
    for option, value in options.items():
        command += [option, value]
    if processes:
        command += ["--processes", str(processes)]
    env = {
        **os.environ,
        "LOAD_PROFILE": profile,
        "LOAD_SAMPLES_DIR": str(stage_dir),
    }
    env.pop("LOAD_USERS", None)
    env.pop("LOAD_RUN_TIME", None)
    if users:
        env["LOAD_USERS"] = str(users)
    if run_time:
        env["LOAD_RUN_TIME"] = str(run_time)
    with (stage_dir / "locust.log").open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stop_watching = threading.Event()
        watcher = threading.Thread(
            target=_watch,
            args=(
                stage_dir / "locust_stats_history.csv",
                expected_seconds,
                progress,
                stop_watching,
            ),
            daemon=True,
        )
        watcher.start()
        try:
            # A slow stage can overrun the profile by its slowest request; then give up.
            process.wait(timeout=expected_seconds + 120)
        except subprocess.TimeoutExpired:
            raise LoadRunError(
                f"Locust did not finish within {expected_seconds + 120:.0f} s"
            ) from None
        finally:
            stop_watching.set()
            watcher.join()
            # Locust and any worker processes it forked (--processes).
            stop_group(process, signal.SIGTERM)
    if process.returncode != 0:
        tail = (stage_dir / "locust.log").read_text().splitlines()[-15:]
        raise LoadRunError(f"Locust exited with {process.returncode}:\n" + "\n".join(tail))


def _watch(history: Path, expected_seconds: float, progress, stop: threading.Event):
    """Report elapsed time, users and current RPS every few seconds while Locust runs."""
    started = time.monotonic()
    while not stop.wait(5):
        line = _last_aggregated(history)
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
