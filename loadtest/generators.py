"""Load generators for `measure_ceiling`, as child processes: wrk where it is installed,
else Locust's FastHttpUser. Each drives one URL with a fixed number of connections for
a fixed time and is always stopped; reading its figures is ceiling.py's job.

wrk is C: one thread keeps eight connections busy at thousands of requests a second on
a fraction of a core, so the server, not the generator, sets the pace. Locust is
Python: it needs a process per core it uses (`--processes`) and costs far more CPU per
request, which is why the benchmark reports the generator's CPU beside the server's.
"""

import os
import shutil
import subprocess
import threading
from pathlib import Path

from . import locust_process
from .server import BASE_DIR

WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
LOCUSTFILE = Path(__file__).with_name("ceiling_locustfile.py")
# What the Lua script's line starts with, among wrk's own summary lines.
WRK_JSON_PREFIX = "wrk-json: "
# A request slower than this counts as a timeout. wrk's own default (2 s) would count
# the naive stage's lists, which wait for seconds behind each other, as failures.
REQUEST_TIMEOUT_SECONDS = 60
# How long past its run time a generator may take to stop before it is killed.
GRACE_SECONDS = 30


class GeneratorError(Exception):
    """The load generator could not run (not: requests failed, which are counted)."""


def wrk_path() -> str | None:
    """Where wrk is installed, or None (`apt-get install wrk`)."""
    return shutil.which("wrk")


def wrk_version() -> str:
    """e.g. "wrk 4.1.0" (wrk prints its version in the first line of its usage)."""
    result = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True, timeout=10)
    words = (result.stdout + result.stderr).split()
    return f"wrk {words[1]}" if len(words) > 1 else "wrk"


def run_wrk(url: str, *, seconds: float, connections: int, threads: int) -> tuple[str, float]:
    """Run wrk against `url`; return its JSON line (see wrk_report.lua) and the CPU
    seconds it used, user and system, all threads (from the kernel, when it is reaped)."""
    command = [
        wrk_path() or "wrk",
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        f"--timeout={REQUEST_TIMEOUT_SECONDS}s",
        f"--script={WRK_SCRIPT}",
        url,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # Ends a wrk that hangs; reading its output then returns.
    killer = threading.Timer(seconds + GRACE_SECONDS, process.kill)
    killer.start()
    try:
        output = process.stdout.read()
        # wait4, not wait: the rusage of this one child is the generator's CPU.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        killer.cancel()
        process.stdout.close()
    lines = [line for line in output.splitlines() if line.startswith(WRK_JSON_PREFIX)]
    if process.returncode or not lines:
        raise GeneratorError(f"wrk exited with {process.returncode}: {output.strip()[-1000:]}")
    return lines[-1].removeprefix(WRK_JSON_PREFIX), usage.ru_utime + usage.ru_stime


def run_locust(
    url: str, path: str, *, seconds: float, users: int, processes: int, folder: Path
) -> None:
    """Run ceiling_locustfile.py against `url` + `path` with `users` users (one
    connection each) in `processes` worker processes. Its samples and its CPU seconds
    go into `folder` (samples-<pid>.jsonl, generator-cpu-<pid>.json)."""
    command = locust_process.command(
        host=url,
        locustfile=LOCUSTFILE,
        users=users,
        run_time=seconds,
        processes=processes,
        exit_code_on_error=0,
    )
    env = {
        **os.environ,
        "CEILING_PATH": path,
        "LOAD_SAMPLES_DIR": str(folder),
        # The locustfile imports `loadtest` from this repository.
        "PYTHONPATH": str(BASE_DIR),
    }
    log_path = folder / "locust.log"
    with log_path.open("w") as log:
        process = locust_process.start(command, env=env, output=log)
        try:
            locust_process.finish(process, log_path=log_path, seconds=seconds + GRACE_SECONDS)
        except locust_process.LoadRunError as error:
            raise GeneratorError(str(error)) from None
