"""The ceiling: how many requests a second each endpoint of a stage gets from one server,
next to a trivial endpoint on the same server, and what the load generator cost.

Behind `manage.py measure_ceiling`. Each stage is served by gunicorn with the project's
settings plus one URL, `/api/trivial/` (ceiling_urls.py): a DRF view that answers
`{"ok": true}` through the same middleware, authentication and renderer, with no query.
Whatever a real endpoint gets below the trivial one is the cost of its own work, so the
ratio of the two, from the same server in the same run, is the figure that travels
between machines; requests a second alone do not.

Each endpoint is driven in turn by a generator (generators.py) with a fixed number of
connections and no pause between requests: closed-loop, as fast as the server answers.
Before its run, each endpoint is warmed up (the first request of a worker thread loads
code and opens its database connection); after it, the server is left to finish the
requests the generator abandoned when it stopped, so that they are not counted in the
next endpoint's CPU. The server's CPU (the gunicorn master and its workers; not the
PostgreSQL server's) and the generator's are measured over the run: a generator that
needed more CPU than the server may have been the bottleneck, and then the figure is
the generator's, not the server's.

Several server setups (`ServerConfig`: sync workers, or gthread workers with threads)
can be compared in one run, interleaved round by round.
"""

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import psutil

from . import generators, probe, samples
from .ceiling_urls import TRIVIAL
from .server import running
from .stats import percentile

# The endpoints, by the names the command takes; `detail` is a post that exists.
ENDPOINTS = {
    "list": "/api/posts/",
    "detail": "/api/posts/{id}/",
    "health": "/api/health/",
    "trivial": TRIVIAL,
}
# What each ratio is measured against.
BASELINE = "trivial"
GENERATORS = ("wrk", "locust")
# The settings the servers run with: the project's, with the trivial endpoint added.
SETTINGS_MODULE = "loadtest.ceiling_settings"
WORKER_CLASSES = ("sync", "gthread")
# The server is idle again when it uses less than this share of a core ...
IDLE_CPU = 0.05
# ... measured over this many seconds; give up waiting after IDLE_TIMEOUT.
IDLE_WINDOW_SECONDS = 0.3
IDLE_TIMEOUT_SECONDS = 120
# Untimed requests per worker thread before an endpoint is measured.
WARMUP_PER_THREAD = 2
# The figures that several rounds give as their median.
MEDIANS = (
    "rps",
    "p50_ms",
    "p99_ms",
    "ratio",
    "server_cpu_s",
    "server_cpu_ms_per_request",
    "generator_cpu_s",
)


class CeilingError(Exception):
    """A measurement could not be made: a warm-up request failed, say."""


@dataclass(frozen=True)
class ServerConfig:
    """One gunicorn setup: `sync:2` is 2 sync workers (one request at a time each, no
    keep-alive), `gthread:2x4` is 2 gthread workers of 4 threads each."""

    worker_class: str
    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, text: str) -> "ServerConfig":
        """Read `sync:<workers>` or `gthread:<workers>x<threads>`; ValueError says why not."""
        worker_class, _, size = text.strip().partition(":")
        if worker_class not in WORKER_CLASSES or not size:
            raise ValueError(
                f"{text!r} is not a server setup; write sync:<workers> or "
                "gthread:<workers>x<threads>, e.g. sync:2 or gthread:2x4"
            )
        workers, _, threads = size.partition("x")
        if worker_class == "sync" and threads:
            # gunicorn would quietly run gthread workers instead.
            raise ValueError(f"{text!r}: a sync worker has one thread; write sync:{workers}")
        if worker_class == "gthread" and not threads:
            raise ValueError(f"{text!r}: say how many threads, e.g. gthread:{workers}x4")
        try:
            config = cls(worker_class, int(workers), int(threads or 1))
        except ValueError:
            raise ValueError(f"{text!r}: workers and threads are whole numbers") from None
        if config.workers < 1 or config.threads < 1:
            raise ValueError(f"{text!r}: at least one worker and one thread")
        return config

    def __str__(self) -> str:
        if self.worker_class == "sync":
            return f"sync:{self.workers}"
        return f"{self.worker_class}:{self.workers}x{self.threads}"

    @property
    def slots(self) -> int:
        """Requests the server works on at once."""
        return self.workers * self.threads

    def worker_connections(self, connections: int) -> int | None:
        """The most connections one gthread worker may hold (gunicorn's
        `worker_connections`): its share of the generator's `connections`, plus one per
        thread. A gthread worker accepts every connection it is offered while its
        threads work, so without a cap one worker of two sometimes took all of a
        benchmark's few long-lived connections and the other idled, halving that run's
        rps. With the cap, a worker that holds more than its share closes the
        connections beyond it after their next response, and the client reconnects to a
        worker with room. A sync worker holds one connection at a time: None."""
        if self.worker_class == "sync":
            return None
        return -(-connections // self.workers) + self.threads


@dataclass(frozen=True)
class Settings:
    """What `measure_ceiling` was asked for, checked once."""

    stages: tuple[str, ...]
    endpoints: tuple[str, ...]
    servers: tuple[ServerConfig, ...]
    seconds: float
    connections: int
    generator: str
    generator_workers: int  # wrk threads, or Locust worker processes
    rounds: int


def paths(endpoints: tuple[str, ...], post_id: int) -> dict[str, str]:
    """Each endpoint's path, with a post that exists for `detail`."""
    return {name: ENDPOINTS[name].format(id=post_id) for name in endpoints}


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds, user and system, the process `pid` and every live descendant used
    so far: the gunicorn master and its workers."""
    total = 0.0
    master = psutil.Process(pid)
    for process in [master, *master.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def wait_idle(pid: int) -> bool:
    """Wait until the server uses less than IDLE_CPU of a core; False after the timeout.

    A generator stops with requests in flight. The server still answers them (a sync
    worker even takes the queued ones from its backlog), which at the naive stage can
    take seconds; the next measurement must not start, or count CPU, before that ends.
    """
    deadline = time.monotonic() + IDLE_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        before = server_cpu_seconds(pid)
        time.sleep(IDLE_WINDOW_SECONDS)
        if server_cpu_seconds(pid) - before < IDLE_CPU * IDLE_WINDOW_SECONDS:
            return True
    return False


def warm_up(url: str, config: ServerConfig) -> None:
    """WARMUP_PER_THREAD GETs of `url` for each of the server's threads, as many at a time
    as it has threads, so that each worker has loaded its code and each thread has opened
    its database connection before anything is timed."""
    slots = config.slots

    def get(_):
        try:
            return probe.get(url, timeout=generators.REQUEST_TIMEOUT_SECONDS).status
        except OSError as error:
            raise CeilingError(f"warming up, GET {url} failed: {error}") from None

    with ThreadPoolExecutor(max_workers=slots) as pool:
        statuses = set(pool.map(get, range(WARMUP_PER_THREAD * slots)))
    if statuses != {200}:
        raise CeilingError(f"warming up, GET {url} answered {sorted(statuses)}, not 200")


def drive(server_pid: int, url: str, path: str, settings: Settings, folder: Path) -> dict:
    """Drive `url` + `path` with the generator; the figures of that run, the server's
    CPU seconds over it, and the generator's."""
    before = server_cpu_seconds(server_pid)
    if settings.generator == "wrk":
        line, generator_cpu = generators.run_wrk(
            url + path,
            seconds=settings.seconds,
            connections=settings.connections,
            threads=settings.generator_workers,
        )
        figures = wrk_figures(json.loads(line))
    else:
        folder.mkdir(parents=True)
        generators.run_locust(
            url,
            path,
            seconds=settings.seconds,
            users=settings.connections,
            processes=settings.generator_workers,
            folder=folder,
        )
        figures = locust_figures(folder)
        generator_cpu = locust_cpu_seconds(folder)
    server_cpu = server_cpu_seconds(server_pid) - before
    settled = wait_idle(server_pid)
    return {
        **figures,
        "server_cpu_s": round(server_cpu, 2),
        # What a request cost the server: unlike rps, it does not fall when other
        # work on the machine takes CPU away from the server.
        "server_cpu_ms_per_request": (
            round(server_cpu * 1000 / figures["requests"], 3) if figures["requests"] else None
        ),
        "generator_cpu_s": round(generator_cpu, 2),
        "generator_lighter": generator_cpu < server_cpu,
        "settled": settled,
    }


def wrk_figures(report: dict) -> dict:
    """rps, p50, p99 and failures from wrk_report.lua's line."""
    seconds = report["duration_us"] / 1e6
    return {
        "requests": report["requests"],
        "failures": sum(report["errors"].values()),
        "rps": round(report["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(report["p50_us"] / 1000, 2),
        "p99_ms": round(report["p99_us"] / 1000, 2),
    }


def locust_figures(folder: Path) -> dict:
    """rps, p50, p99 and failures from the samples the Locust processes wrote."""
    recorded = samples.load(folder)
    if not recorded:
        raise CeilingError(f"Locust recorded no request; see {folder / 'locust.log'}")
    durations = sorted(sample.ms for sample in recorded)
    seconds = max(s.end for s in recorded) - min(s.start for s in recorded)
    return {
        "requests": len(recorded),
        "failures": sum(1 for sample in recorded if sample.failed),
        "rps": round(len(recorded) / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(percentile(durations, 50), 2),
        "p99_ms": round(percentile(durations, 99), 2),
    }


def locust_cpu_seconds(folder: Path) -> float:
    """The CPU seconds every Locust process spent while the load ran (the master's too)."""
    return sum(
        json.loads(path.read_text())["cpu_s"] for path in folder.glob("generator-cpu-*.json")
    )


def measure_server(
    stage: str,
    config: ServerConfig,
    *,
    database_url: str,
    post_id: int,
    settings: Settings,
    folder: Path,
    say: Callable[[str], None],
) -> dict:
    """Serve `stage` with `config` and drive each endpoint in turn: {endpoint: figures},
    each with its ratio to the trivial endpoint's rps on this same server."""
    folder.mkdir(parents=True, exist_ok=True)
    results = {}
    with running(
        stage,
        env={"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE},
        workers=config.workers,
        threads=config.threads,
        worker_class=config.worker_class,
        worker_connections=config.worker_connections(settings.connections),
        log_path=folder / "server.log",
    ) as server:
        for name, path in paths(settings.endpoints, post_id).items():
            warm_up(server.url + path, config)
            figures = drive(server.pid, server.url, path, settings, folder / name)
            results[name] = figures
            busy = "" if figures["settled"] else "; the server was still busy after it"
            say(
                f"{name} {figures['rps']:,.1f} rps, p50 {figures['p50_ms']:g} ms, p99 "
                f"{figures['p99_ms']:g} ms, {figures['failures']} failures; CPU: server "
                f"{figures['server_cpu_s']:g} s, {settings.generator} "
                f"{figures['generator_cpu_s']:g} s{busy}"
            )
    return with_ratios(results)


def with_ratios(results: dict) -> dict:
    """Each endpoint's figures with `ratio`: its rps over the trivial endpoint's (None
    without a trivial endpoint, or when it answered nothing)."""
    baseline = results.get(BASELINE, {}).get("rps")
    for figures in results.values():
        figures["ratio"] = round(figures["rps"] / baseline, 3) if baseline else None
    return results


def combine(rounds: list[dict]) -> dict:
    """One figure per server setup, stage and endpoint from every round's: the median of
    rps, p50, p99, ratio and both CPUs; failures and requests summed; the generator
    counted lighter only if it was in every round."""
    combined = {}
    for config, stages in rounds[0].items():
        combined[config] = {}
        for stage, endpoints in stages.items():
            combined[config][stage] = {}
            for endpoint in endpoints:
                runs = [each[config][stage][endpoint] for each in rounds]
                combined[config][stage][endpoint] = _combined(runs)
    return combined


def _combined(runs: list[dict]) -> dict:
    def middle(name):
        values = [run[name] for run in runs if run[name] is not None]
        return round(median(values), 3) if values else None

    return {
        **{name: middle(name) for name in MEDIANS},
        "requests": sum(run["requests"] for run in runs),
        "failures": sum(run["failures"] for run in runs),
        "generator_lighter": all(run["generator_lighter"] for run in runs),
        "rounds": len(runs),
    }


def generator_verdict(rounds: list[dict]) -> dict:
    """Did the generator use less CPU than the server in every run? The runs where it
    did not, by round, server setup, stage and endpoint."""
    heavier = [
        f"round {number}, {config}, {stage}, {endpoint}"
        for number, each in enumerate(rounds, 1)
        for config, stages in each.items()
        for stage, endpoints in stages.items()
        for endpoint, figures in endpoints.items()
        if not figures["generator_lighter"]
    ]
    return {"lighter_everywhere": not heavier, "heavier_in": heavier}
