"""How many requests per second can one server give a list, next to a trivial endpoint?

Serves a stage (default `paginated`, the best) with gunicorn on 127.0.0.1 from a copy
of the current database and, on that same server, runs Locust with no think time
against one URL at a time: the posts list (page 1) and /api/health/. The ratio says
how much of the server's capacity the list still costs.

    .venv/bin/python benchmarks/max_throughput.py [--stage paginated] [--users 20] [--seconds 15]
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

from loadtest import databases, locust_process, samples, stats  # noqa: E402
from loadtest.markdown import LEFT, RIGHT, table  # noqa: E402
from loadtest.server import serve  # noqa: E402

LOCUSTFILE = """
import os
from locust import FastHttpUser, constant, task
from loadtest import samples

class OneUrl(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get(os.environ["BENCH_URL"])

samples.record_if_asked()
"""


def measure(url: str, path: str, users: int, seconds: int, workdir: Path) -> tuple:
    folder = workdir / path.strip("/").replace("/", "_")
    folder.mkdir()
    locustfile = workdir / "one_url.py"
    locustfile.write_text(LOCUSTFILE)
    command = locust_process.throughput_command(
        url, locustfile=locustfile, users=users, seconds=seconds
    )
    env = {**os.environ, "BENCH_URL": path, "LOAD_SAMPLES_DIR": str(folder)}
    # The locustfile is in a temporary folder, and imports loadtest from here.
    env["PYTHONPATH"] = str(BASE_DIR)
    if locust_process.start(command, env=env).wait():
        raise SystemExit(f"Locust could not run against {path}")
    summary = stats.summarize(samples.load(folder))
    figures = summary["endpoints"][f"GET {path}"]
    return figures["rps"], figures["p50_ms"], figures["p95_ms"], summary["failures"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="paginated", help="stage to serve (default paginated)")
    parser.add_argument("--users", type=int, default=20, help="virtual users (default 20)")
    parser.add_argument("--seconds", type=int, default=15, help="run time per URL (default 15)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with databases.clone(workdir) as database_url:
            with serve(args.stage, env={"DATABASE_URL": database_url}) as url:
                rows = [
                    (path, *measure(url, path, args.users, args.seconds, workdir))
                    for path in ("/api/posts/", "/api/health/")
                ]
    print(
        f"stage {args.stage}, {args.users} users, no think time, {args.seconds} s per URL, "
        f"{os.cpu_count()} CPUs, one server"
    )
    print(table(["URL", "RPS", "p50 ms", "p95 ms", "failures"], [LEFT] + [RIGHT] * 4, rows))
    print(f"list / health throughput: {rows[0][1] / rows[1][1]:.2f}")


if __name__ == "__main__":
    main()
