import os
import time
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from django.core.management.base import BaseCommand, CommandError

from loadtest import databases, depth, depth_report, environment, provenance
from loadtest.arguments import paged_stage_list, positive_int, size_list
from loadtest.server import BASE_DIR, ServerError

DEFAULT_SIZES = [5_000, 100_000, 1_000_000]


class Command(BaseCommand):
    help = (
        "Measure how the cost of one list page grows with the data, at the paginated "
        "(COUNT(*) + OFFSET) and cursor (keyset) stages: for each size, seed a scratch "
        "database, serve each stage with one gunicorn worker and one thread on 127.0.0.1, "
        "and time page 1 and the deep page at the end (the same rows at both stages, "
        "checked). Scratch databases are dropped. Writes report.json, report.md and "
        "chart.png, and says whether the cursor's deep page stayed flat."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sizes",
            type=size_list,
            default=DEFAULT_SIZES,
            help="Comma-separated numbers of posts to measure at, smallest first, each in a "
            f"database of its own (default: {','.join(map(str, DEFAULT_SIZES))}). Seeding a "
            "million takes about a minute.",
        )
        parser.add_argument(
            "--stages",
            type=paged_stage_list,
            default=list(depth.PAGED_STAGES),
            help=f"Comma-separated stages to measure (default: {','.join(depth.PAGED_STAGES)}; "
            "the goal compares the two).",
        )
        parser.add_argument(
            "--requests",
            type=positive_int,
            default=50,
            help="Timed requests per page, stage and size, sent one at a time after "
            f"{depth.WARMUP_REQUESTS} untimed warm-up requests (default: %(default)s).",
        )
        parser.add_argument(
            "--out",
            type=Path,
            help="Report folder (default: reports/pagination-<date-time>/). Must be new or "
            "empty; it is written only when every size was measured.",
        )
        parser.add_argument(
            "--database",
            choices=["sqlite", "postgresql"],
            default="sqlite",
            help="Where the scratch databases live: SQLite files in a temporary folder, or "
            "databases created on a PostgreSQL server: this project's own when DATABASE_URL "
            "is PostgreSQL (its user, password, host, port and options), else "
            f"{depth.DEFAULT_POSTGRES_URL.rsplit('/', 1)[0]} (default: %(default)s).",
        )

    def handle(self, *args, **options):
        sizes, stages, kind = options["sizes"], options["stages"], options["database"]
        out = self.report_folder(options["out"])
        source = provenance.record("pagination")
        server = (
            depth.postgres_server(os.environ.get("DATABASE_URL")) if kind == "postgresql" else None
        )
        facts = self.environment(server, options["requests"])
        results = {stage: {page: {} for page in depth.PAGE_KINDS} for stage in stages}
        deep_pages, seconds = {}, {}
        started = time.monotonic()
        self.stdout.write(
            f"Measuring {', '.join(stages)} at {', '.join(f'{s:,}' for s in sizes)} posts "
            f"on {facts['database']}. Report: {out}"
        )
        try:
            for number, size in enumerate(sizes, 1):
                prefix = f"[{number}/{len(sizes)}] {size:,} posts"
                size_started = time.monotonic()
                figures, deep_pages[str(size)] = depth.measure_size(
                    kind=kind,
                    size=size,
                    stages=stages,
                    requests=options["requests"],
                    server=server,
                    say=lambda line, prefix=prefix: self.stdout.write(f"{prefix}: {line}"),
                )
                for stage, pages in figures.items():
                    for page, page_figures in pages.items():
                        results[stage][page][str(size)] = page_figures
                seconds[str(size)] = round(time.monotonic() - size_started, 1)
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted: servers stopped and scratch databases dropped; no report written.",
                returncode=130,
            ) from None
        except (
            depth.DepthError,
            ServerError,
            databases.DatabaseSetupError,
            psycopg.Error,
        ) as error:
            raise CommandError(
                f"At {size:,} posts: {error}\nServers stopped and scratch databases "
                "dropped; no report written."
            ) from None
        facts["load_average_end"] = environment.load_average()
        ratios = depth.growth(results, sizes)
        verdict = depth.goal(ratios, sizes)
        report = {
            "sizes": sizes,
            "database": kind,
            "command": self.command_line(options),
            "environment": facts,
            "results": results,
            "growth_p95": ratios,
            "goal": verdict,
            "deep_pages": deep_pages,
            "seconds": {"per_size": seconds, "total": round(time.monotonic() - started, 1)},
            "provenance": source,
        }
        depth_report.write(out, report)
        self.stdout.write("\n" + depth_report.tables(report) + "\n")
        line = depth_report.goal_line(verdict, sizes)
        self.stdout.write(self.style.SUCCESS(line) if verdict["met"] else self.style.WARNING(line))
        self.stdout.write(f"Report: {out / 'report.md'} ({report['seconds']['total']:.0f} s)")

    def report_folder(self, out: Path | None) -> Path:
        out = out or BASE_DIR / "reports" / f"pagination-{datetime.now():%Y%m%d-%H%M%S}"
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise CommandError(f"{out} is not an empty folder; choose another --out.")
        return out

    def environment(self, server: str | None, requests: int) -> dict:
        try:
            database = environment.database_version(server)
        except psycopg.OperationalError as error:
            where = urlsplit(server)
            raise CommandError(
                f"Cannot reach PostgreSQL at {where.hostname or 'localhost'}:"
                f"{where.port or 5432} as {where.username or 'the OS user'}: "
                f"{str(error).strip()}"
            ) from None
        return {
            **environment.machine(),
            "load_average_start": environment.load_average(),
            "gunicorn": version("gunicorn"),
            "database": database,
            "server": "1 worker x 1 thread",
            "client": "urllib in the measuring process, one request at a time",
            "page_size": depth.PAGE_SIZE,
            "requests_per_measurement": requests,
            "warmup_requests": depth.WARMUP_REQUESTS,
        }

    def command_line(self, options) -> str:
        return (
            f"python manage.py measure_pagination --sizes {','.join(map(str, options['sizes']))} "
            f"--stages {','.join(options['stages'])} --requests {options['requests']} "
            f"--database {options['database']}"
        )
