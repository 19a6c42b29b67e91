"""Which Locust client leaves the server as the bottleneck on this machine?

Serves the `paginated` stage with gunicorn on 127.0.0.1 (from a copy of the current
database), drives it with the real locustfile, no think time, once with FastHttpUser
and once with HttpUser, and prints the CPU seconds the load generator and the server
used, and the RPS reached:

    .venv/bin/python benchmarks/client_cpu.py [--users 20] [--seconds 20]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402

from loadtest import databases, locust_process, samples, stats  # noqa: E402
from loadtest.ceiling import server_cpu_seconds as cpu_seconds  # noqa: E402
from loadtest.endpoints import LOGIN  # noqa: E402
from loadtest.environment import load_average  # noqa: E402
from loadtest.markdown import LEFT, RIGHT, number, table  # noqa: E402
from loadtest.server import serve  # noqa: E402

# The project's locustfile, and the same with HttpUser as its client.
LOCUSTFILES = {
    "FastHttpUser": BASE_DIR / "locustfile.py",
    "HttpUser": BASE_DIR / "benchmarks" / "http_user_locustfile.py",
}


def run(client: str, url: str, users: int, seconds: int, workdir: Path) -> dict:
    folder = workdir / client
    folder.mkdir()
    server_pid = _server_pid(url)
    server_before = cpu_seconds(server_pid)
    command = locust_process.throughput_command(
        url,
        locustfile=LOCUSTFILES[client],
        users=users,
        seconds=seconds,
        options={"--think-time-scale": 0},
    )
    process = locust_process.start(command, env={**os.environ, "LOAD_SAMPLES_DIR": str(folder)})
    locust_cpu = 0.0
    while process.poll() is None:
        # The largest reading: the processes' CPU is gone once they have exited.
        locust_cpu = max(locust_cpu, cpu_seconds(process.pid))
        time.sleep(0.2)
    server_cpu = cpu_seconds(server_pid) - server_before
    summary = stats.summarize(samples.load(folder))
    steady = sum(f["requests"] for n, f in summary["endpoints"].items() if n != LOGIN)
    return {
        "client": client,
        "requests": summary["requests"],
        "locust_cpu_s": round(locust_cpu, 1),
        # The clients make different numbers of requests in the same time: compare the
        # cost of each one.
        "locust_cpu_ms": round(locust_cpu * 1000 / summary["requests"], 2)
        if summary["requests"]
        else None,
        "server_cpu_s": round(server_cpu, 1),
        # None when logins were in flight the whole run: no steady time to divide by.
        "rps": round(steady / summary["steady_s"], 1) if summary["steady_s"] else None,
        "failures": summary["failures"],
    }


def _server_pid(url: str) -> int:
    """The gunicorn master listening on `url`'s port."""
    port = int(url.rsplit(":", 1)[1])
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            return conn.pid
    raise RuntimeError(f"nothing listens on port {port}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="virtual users (default 20)")
    parser.add_argument("--seconds", type=int, default=20, help="run time per client (default 20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = []
        for client in ("FastHttpUser", "HttpUser"):
            with databases.clone(workdir) as url_db:
                with serve("paginated", env={"DATABASE_URL": url_db}) as url:
                    results.append(run(client, url, args.users, args.seconds, workdir))
    print(
        f"Command: `python benchmarks/client_cpu.py --users {args.users} --seconds {args.seconds}`"
    )
    print()
    print(
        f"{args.users} users, no think time, {args.seconds} s each, stage paginated, "
        f"{os.cpu_count()} CPUs (load average {load_average()})"
    )
    print()
    columns = ["requests", "locust_cpu_s", "locust_cpu_ms", "server_cpu_s", "rps", "failures"]
    header = ["client", "requests", "Locust CPU s", "Locust CPU ms per request"]
    header += ["server CPU s", "steady RPS", "failures"]
    rows = [[r["client"], *(number(r[column], digits=2) for column in columns)] for r in results]
    print(table(header, [LEFT] + [RIGHT] * 6, rows))


if __name__ == "__main__":
    main()
