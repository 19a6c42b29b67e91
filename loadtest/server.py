"""Serve one stage with gunicorn on 127.0.0.1, wait until it is ready, and always stop it."""

import os
import runpy
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

BASE_DIR = Path(__file__).resolve().parent.parent


def gunicorn_setting(name: str):
    """A setting of gunicorn.conf.py (`workers`, `threads`, ...), read as gunicorn reads
    it: the one place the server's defaults are decided."""
    return runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))[name]


class ServerError(Exception):
    """The server did not start, or did not serve the stage it was asked for."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server(NamedTuple):
    """A running gunicorn: its base URL, and its master process (the workers are its
    children): a benchmark counts the server's CPU time, a probe finds which worker
    answered."""

    url: str
    pid: int


@contextmanager
def serve(stage: str, **options) -> Iterator[str]:
    """Run gunicorn at `stage` on a free port and yield its base URL; the options are
    `running`'s. The server and its workers are stopped on leaving the block."""
    with running(stage, **options) as server:
        yield server.url


@contextmanager
def running(
    stage: str,
    *,
    env: dict[str, str] | None = None,
    workers: int | None = None,
    threads: int | None = None,
    worker_class: str | None = None,
    worker_connections: int | None = None,
    log_path: Path | None = None,
    ready_timeout: float = 30,
) -> Iterator[Server]:
    """Run gunicorn at `stage` on a free port and yield it as a `Server`.

    `env` adds to this process's environment (DATABASE_URL, say); `workers`, `threads`,
    `worker_class` and `worker_connections` override gunicorn.conf.py's (gunicorn's
    default). The server's output goes to
    `log_path` if given. The server and its workers are stopped on leaving the block,
    on an error or Ctrl-C too.
    """
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "project.wsgi", "--bind", f"127.0.0.1:{port}"]
    if workers:
        cmd += ["--workers", str(workers)]
    if threads:
        cmd += ["--threads", str(threads)]
    if worker_class:
        cmd += ["--worker-class", worker_class]
    if worker_connections:
        cmd += ["--worker-connections", str(worker_connections)]
    log = log_path.open("w+") if log_path else tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        cmd,
        cwd=BASE_DIR,
        # Never profile a measured server: silk's own work would be in every figure.
        env={**os.environ, **(env or {}), "STAGE": stage, "DJANGO_SILK": "0"},
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own process group, so that stopping it reaches every worker.
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, stage, process, log, ready_timeout)
        yield Server(url, process.pid)
    finally:
        stop_group(process)
        log.close()


def _wait_ready(url, stage, process, log, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"gunicorn exited with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/api/health/", timeout=5) as response:
                served = response.headers.get("X-Stage")
                if served != stage:
                    raise ServerError(f"asked for stage {stage!r}, the server says {served!r}")
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise ServerError(f"gunicorn was not ready after {timeout:.0f} s:\n{_tail(log)}")


def stop_group(process: subprocess.Popen, first: signal.Signals = signal.SIGINT) -> None:
    """Stop a process started in its own session, and everything it forked: `first`
    (gunicorn's quick shutdown is SIGINT), then SIGKILL for the group if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, first)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    # Children left behind by a parent that died are killed with the group.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _tail(log, lines=30):
    log.seek(0)
    return "".join(log.readlines()[-lines:])
