import argparse
import os
import platform
import time
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from loadtest import depth
from loadtest.management.commands.replay import stage_list
from loadtest.server import BASE_DIR, ServerError
from seed.management.commands.seed_posts import positive_int

# The stages whose lists come a page at a time, so that there is a deep page to time.
PAGED_STAGES = ("paginated", "cursor")
DEFAULT_SIZES = [5_000, 100_000, 1_000_000]


def size_list(value: str) -> list[int]:
    sizes = set()
    for item in filter(None, (part.strip() for part in value.split(","))):
        try:
            size = int(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r} is not a whole number of posts") from None
        if size <= depth.PAGE_SIZE:
            raise argparse.ArgumentTypeError(
                f"{size} posts fit on one page; a deep page needs at least "
                f"{depth.PAGE_SIZE + 1} posts"
            )
        sizes.add(size)
    if not sizes:
        raise argparse.ArgumentTypeError("no size given, e.g. 5000,100000")
    return sorted(sizes)


def paged_stage_list(value: str) -> list[str]:
    names = stage_list(value)
    unpaged = [name for name in names if name not in PAGED_STAGES]
    if unpaged:
        raise argparse.ArgumentTypeError(
            f"stage {', '.join(map(repr, unpaged))} serves every row at once, with no deep "
            f"page to measure; use {', '.join(PAGED_STAGES)}"
        )
    return list(dict.fromkeys(names))


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
            default=list(PAGED_STAGES),
            help=f"Comma-separated stages to measure (default: {','.join(PAGED_STAGES)}; "
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
            "is PostgreSQL (its user, password, host and port), else "
            f"{depth.DEFAULT_POSTGRES_URL.rsplit('/', 1)[0]} (default: %(default)s).",
        )

    def handle(self, *args, **options):
        sizes, stages, kind = options["sizes"], options["stages"], options["database"]
        out = self.report_folder(options["out"])
        server = (
            depth.postgres_server(settings.DATABASES["default"]) if kind == "postgresql" else None
        )
        environment = self.environment(kind, server, options["requests"])
        results = {stage: {page: {} for page in depth.PAGE_KINDS} for stage in stages}
        deep_pages, seconds = {}, {}
        started = time.monotonic()
        self.stdout.write(
            f"Measuring {', '.join(stages)} at {', '.join(f'{s:,}' for s in sizes)} posts "
            f"on {environment['database']}. Report: {out}"
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
        except (depth.DepthError, ServerError, psycopg.Error) as error:
            raise CommandError(
                f"At {size:,} posts: {error}\nServers stopped and scratch databases "
                "dropped; no report written."
            ) from None
        environment["load_average_end"] = self.load_average()
        ratios = depth.growth(results, sizes)
        verdict = depth.goal(ratios, sizes)
        report = {
            "sizes": sizes,
            "database": kind,
            "command": self.command_line(options),
            "environment": environment,
            "results": results,
            "growth_p95": ratios,
            "goal": verdict,
            "deep_pages": deep_pages,
            "seconds": {"per_size": seconds, "total": round(time.monotonic() - started, 1)},
        }
        depth.write(out, report)
        self.stdout.write("\n" + depth.tables(report) + "\n")
        line = depth.goal_line(verdict, sizes)
        self.stdout.write(self.style.SUCCESS(line) if verdict["met"] else self.style.WARNING(line))
        self.stdout.write(f"Report: {out / 'report.md'} ({report['seconds']['total']:.0f} s)")

    def report_folder(self, out: Path | None) -> Path:
        out = out or BASE_DIR / "reports" / f"pagination-{datetime.now():%Y%m%d-%H%M%S}"
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise CommandError(f"{out} is not an empty folder; choose another --out.")
        return out

    def environment(self, kind: str, server: dict | None, requests: int) -> dict:
        try:
            database = depth.database_version(kind, server)
        except psycopg.OperationalError as error:
            raise CommandError(
                f"Cannot reach PostgreSQL at {server.get('HOST') or 'localhost'}:"
                f"{server.get('PORT') or 5432} as {server.get('USER') or 'the OS user'}: "
                f"{str(error).strip()}"
            ) from None
        return {
            "cpu_count": os.cpu_count(),
            "load_average_start": self.load_average(),
            "python": platform.python_version(),
            "django": version("django"),
            "gunicorn": version("gunicorn"),
            "database": database,
            "server": "1 worker x 1 thread",
            "client": "urllib in the measuring process, one request at a time",
            "page_size": depth.PAGE_SIZE,
            "requests_per_measurement": requests,
            "warmup_requests": depth.WARMUP_REQUESTS,
        }

    def load_average(self) -> str:
        """The 1, 5 and 15 minute load averages: how busy the machine was around the run."""
        return " / ".join(f"{load:.2f}" for load in os.getloadavg())

    def command_line(self, options) -> str:
        return (
            f"python manage.py measure_pagination --sizes {','.join(map(str, options['sizes']))} "
            f"--stages {','.join(options['stages'])} --requests {options['requests']} "
            f"--database {options['database']}"
        )
