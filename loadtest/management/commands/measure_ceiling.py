import tempfile
import time
from contextlib import nullcontext
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from blog.models import Comment, Post
from loadtest import ceiling, ceiling_report, databases, environment, generators, provenance
from loadtest.arguments import (
    ceiling_endpoint_list,
    duration,
    positive_int,
    server_list,
    stage_list,
)
from loadtest.management.guards import refuse_profiling
from loadtest.server import BASE_DIR, ServerError, gunicorn_setting
from stages import STAGES


def default_server() -> ceiling.ServerConfig:
    """gunicorn.conf.py's setup, as `make serve` and the replay run it."""
    return ceiling.ServerConfig(
        gunicorn_setting("worker_class"), gunicorn_setting("workers"), gunicorn_setting("threads")
    )


class Command(BaseCommand):
    help = (
        "Measure each stage against the most this server can do: serve each stage with "
        "gunicorn on 127.0.0.1 from a copy of this database, with one more endpoint, "
        "/api/trivial/ ({'ok': true} through the same middleware and DRF, no query), and "
        "drive the posts list, a post, /api/health/ and the trivial endpoint in turn with "
        "wrk (else Locust), as fast as the server answers. Prints rps, p50, p99, each "
        "endpoint's share of the trivial one's rps, and the CPU the server and the load "
        "generator used. Several gunicorn setups can be compared in one run (--servers). "
        "Writes report.json, report.md and chart.png."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stages",
            type=stage_list,
            default=list(STAGES),
            help=f"Comma-separated stages, in order (default: {','.join(STAGES)}). The "
            "naive stage's list takes seconds a request at the default data.",
        )
        parser.add_argument(
            "--endpoints",
            type=ceiling_endpoint_list,
            default=list(ceiling.ENDPOINTS),
            help="Comma-separated endpoints, driven in this order: list (/api/posts/), "
            "detail (/api/posts/<id>/, the newest post), health (/api/health/), trivial "
            "(/api/trivial/, what the others are compared with) "
            f"(default: {','.join(ceiling.ENDPOINTS)}).",
        )
        parser.add_argument(
            "--duration",
            type=duration,
            default=10.0,
            help="How long each endpoint is driven, in whole seconds, e.g. 10s or 1m "
            "(default: 10s).",
        )
        parser.add_argument(
            "--connections",
            type=positive_int,
            default=32,
            help="Connections the generator keeps busy, one request at a time each "
            "(Locust: users). Each stays with the worker that accepted it; a gthread "
            "worker holds at most its share of them, plus one per thread, so that one "
            "worker cannot take them all while another idles (default: %(default)s).",
        )
        parser.add_argument(
            "--servers",
            type=server_list,
            default=None,
            help="Comma-separated gunicorn setups to compare: sync:<workers> or "
            "gthread:<workers>x<threads>, e.g. sync:2,gthread:2x1,gthread:2x4,gthread:4x1 "
            f"(default: gunicorn.conf.py's, {default_server()}).",
        )
        parser.add_argument(
            "--generator",
            choices=ceiling.GENERATORS,
            default="wrk" if generators.wrk_path() else "locust",
            help="The load generator: wrk (apt-get install wrk), or Locust's FastHttpUser "
            "(default: wrk where installed, else locust; here %(default)s).",
        )
        parser.add_argument(
            "--generator-workers",
            type=positive_int,
            default=1,
            help="wrk's threads, or Locust's worker processes (--processes) "
            "(default: %(default)s).",
        )
        parser.add_argument(
            "--rounds",
            type=positive_int,
            default=1,
            help="Measure every setup and stage this many times, interleaved, and report "
            "the medians: on a busy machine, compare the setups within one run "
            "(default: %(default)s).",
        )
        parser.add_argument(
            "--no-copy",
            action="store_true",
            help="Serve this database itself instead of a copy: every request is an "
            "anonymous GET, which writes nothing. For a database too large to copy, or a "
            "PostgreSQL one that another connection holds open (which a copy needs closed).",
        )
        parser.add_argument(
            "--out",
            type=Path,
            help="Report folder (default: reports/ceiling-<date-time>/). Must be new or "
            "empty; it is written only when every measurement was made.",
        )

    def handle(self, *args, **options):
        refuse_profiling("measure")
        run = self.settings(options)
        out = self.report_folder(options["out"])
        source = provenance.record("ceiling")
        post_id, data = self.data(options["no_copy"])
        facts = self.environment(run)
        rounds = []
        started = time.monotonic()
        self.stdout.write(
            f"Measuring {', '.join(run.endpoints)} at {', '.join(run.stages)} on "
            f"{data['posts']:,} posts with {', '.join(map(str, run.servers))}; "
            f"{facts['generator']}, {run.connections} connections, {run.seconds:g} s each. "
            f"Report: {out}"
        )
        try:
            with (
                tempfile.TemporaryDirectory(prefix="measure-ceiling-") as workdir,
                self.database(Path(workdir), options["no_copy"]) as database_url,
            ):
                for number in range(1, run.rounds + 1):
                    rounds.append(self.one_round(number, run, database_url, post_id, workdir))
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted: servers and load stopped; no report written.", returncode=130
            ) from None
        except (
            ceiling.CeilingError,
            generators.GeneratorError,
            ServerError,
            databases.DatabaseSetupError,
            psycopg.Error,
        ) as error:
            raise CommandError(f"{error}\nServers and load stopped; no report written.") from None
        facts["load_average_end"] = environment.load_average()
        report = {
            "command": self.command_line(run, options["no_copy"]),
            "provenance": source,
            "environment": facts,
            "data": data,
            "settings": {
                "stages": list(run.stages),
                "endpoints": list(run.endpoints),
                "servers": list(map(str, run.servers)),
                "seconds": run.seconds,
                "connections": run.connections,
                "generator": run.generator,
                "generator_workers": run.generator_workers,
                "rounds": run.rounds,
            },
            "results": ceiling.combine(rounds),
            "rounds": rounds,
            "generator": ceiling.generator_verdict(rounds),
            "seconds": round(time.monotonic() - started, 1),
        }
        ceiling_report.write(out, report)
        self.stdout.write("\n" + ceiling_report.tables(report) + "\n")
        line = ceiling_report.generator_line(report)
        lighter = report["generator"]["lighter_everywhere"]
        self.stdout.write(self.style.SUCCESS(line) if lighter else self.style.WARNING(line))
        self.stdout.write(f"Report: {out / 'report.md'} ({report['seconds']:.0f} s)")

    def settings(self, options) -> ceiling.Settings:
        seconds = options["duration"]
        if seconds < 1 or seconds != int(seconds):
            raise CommandError(
                f"--duration {seconds:g}s: give whole seconds, at least 1, e.g. 10s or 1m"
            )
        if options["generator"] == "wrk" and not generators.wrk_path():
            raise CommandError(
                "wrk is not installed: install it (apt-get install wrk) or use --generator locust."
            )
        return ceiling.Settings(
            stages=tuple(options["stages"]),
            endpoints=tuple(options["endpoints"]),
            servers=tuple(options["servers"] or [default_server()]),
            seconds=seconds,
            connections=options["connections"],
            generator=options["generator"],
            generator_workers=options["generator_workers"],
            rounds=options["rounds"],
        )

    def one_round(self, number, run, database_url, post_id, workdir) -> dict:
        """Every server setup and stage once: {setup: {stage: {endpoint: figures}}}."""
        results = {}
        for config in run.servers:
            results[str(config)] = {}
            for stage in run.stages:
                prefix = f"[{number}/{run.rounds}] {config} {stage}"
                self.stdout.write(f"{prefix}: serving")
                results[str(config)][stage] = ceiling.measure_server(
                    stage,
                    config,
                    database_url=database_url,
                    post_id=post_id,
                    settings=run,
                    folder=Path(workdir) / f"{number}-{config}-{stage}".replace(":", "-"),
                    say=lambda line, prefix=prefix: self.stdout.write(f"{prefix}: {line}"),
                )
        return results

    def data(self, no_copy: bool) -> tuple[int, dict]:
        """The post `detail` reads, and what the stages serve."""
        post_id = Post.objects.order_by("-id").values_list("id", flat=True).first()
        if post_id is None:
            raise CommandError(
                "This database has no posts: seed it first (make seed, or "
                "`python manage.py seed_posts`)."
            )
        return post_id, {
            "posts": Post.objects.count(),
            "comments": Comment.objects.count(),
            "served_from": "this database itself" if no_copy else "a copy of this database",
        }

    def database(self, workdir: Path, no_copy: bool):
        """The DATABASE_URL the servers use: a copy of this database, or this one."""
        if not no_copy:
            return databases.clone(workdir)
        # The URL this process was given, or settings' SQLite default spelled as one.
        own = databases.project_server() or f"sqlite:///{settings.DATABASES['default']['NAME']}"
        return nullcontext(own)

    def report_folder(self, out: Path | None) -> Path:
        out = out or BASE_DIR / "reports" / f"ceiling-{datetime.now():%Y%m%d-%H%M%S}"
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise CommandError(f"{out} is not an empty folder; choose another --out.")
        return out

    def environment(self, run: ceiling.Settings) -> dict:
        """Where the figures were measured (the commit is `provenance.record`'s)."""
        if run.generator == "wrk":
            name = generators.wrk_version()
            generator = f"{name}, {run.generator_workers} thread(s)"
        else:
            name = f"Locust {version('locust')}"
            generator = f"{name} FastHttpUser, {run.generator_workers} worker process(es)"
        return {
            **environment.machine(),
            "load_average_start": environment.load_average(),
            "gunicorn": version("gunicorn"),
            "database": environment.database_version(databases.project_server()),
            "generator": generator,
            "generator_name": name.split()[0],
        }

    def command_line(self, run: ceiling.Settings, no_copy: bool) -> str:
        parts = [
            "python manage.py measure_ceiling",
            f"--stages {','.join(run.stages)}",
            f"--endpoints {','.join(run.endpoints)}",
            f"--duration {run.seconds:g}s",
            f"--connections {run.connections}",
            f"--servers {','.join(map(str, run.servers))}",
            f"--generator {run.generator}",
            f"--generator-workers {run.generator_workers}",
            f"--rounds {run.rounds}",
        ]
        if no_copy:
            parts.append("--no-copy")
        return " ".join(parts)
