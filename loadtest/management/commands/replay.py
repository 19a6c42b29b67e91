import argparse
import os
import platform
import sqlite3
import time
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from blog.models import Comment, Post
from loadtest import profiles, report
from loadtest.databases import CloneError
from loadtest.replay import LoadRunError, run_stage
from loadtest.server import BASE_DIR, ServerError
from seed.builders import seeded_users
from seed.management.commands.seed_posts import DEFAULT_PASSWORD, non_negative_int, positive_int
from stages import STAGES


def stage_list(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in STAGES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown stage {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"valid stages: {', '.join(STAGES)}"
        )
    return names


def profile_name(value: str) -> str:
    if value not in profiles.PROFILES:
        raise argparse.ArgumentTypeError(
            f"unknown profile {value!r}; profiles: {', '.join(profiles.PROFILES)}"
        )
    return value


def duration(value: str) -> float:
    try:
        return profiles.parse_duration(value)
    except profiles.ProfileError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def ratio(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1, e.g. 0.01 for 1 %")
    return number


def non_negative_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def milliseconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of milliseconds") from None
    if number <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 ms")
    return number


class Command(BaseCommand):
    help = (
        "Replay the same load against every stage: for each, serve it with gunicorn on "
        "127.0.0.1 from a copy of this database, run Locust headless with a load "
        "profile, and stop the server. Writes a comparison report (report.md, "
        "report.json, chart.png, Locust's HTML and CSVs, raw samples)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--stages",
            type=stage_list,
            default=list(STAGES),
            help=f"Comma-separated stages, in order (default: {','.join(STAGES)}).",
        )
        parser.add_argument(
            "--profile",
            type=profile_name,
            default=profiles.DEFAULT_PROFILE,
            help=f"Load profile, one of {', '.join(profiles.PROFILES)} "
            "(default: %(default)s; see loadtest/profiles.py).",
        )
        parser.add_argument(
            "--users",
            type=positive_int,
            help="Peak users, overriding the profile's (its other steps scale along).",
        )
        parser.add_argument(
            "--run-time",
            type=duration,
            help="Run time per stage, e.g. 30s or 2m, overriding the profile's.",
        )
        parser.add_argument(
            "--think-time-scale",
            type=non_negative_float,
            default=1.0,
            help="Multiply the users' think times (1-3 s) by this: 0 for none, as in a "
            "throughput test (default: %(default)s).",
        )
        parser.add_argument(
            "--writer-weight",
            type=non_negative_int,
            default=1,
            help="Weight of the writer's journey against the reader's 2: 1 gives about "
            "20 %% writes; 8 a write-heavy load for the writes audit (default: %(default)s).",
        )
        parser.add_argument(
            "--out",
            type=Path,
            help="Report folder (default: reports/<date-time>/). Must be new or empty.",
        )
        parser.add_argument(
            "--processes",
            type=non_negative_int,
            default=0,
            help="Run Locust as a master and N worker processes on 127.0.0.1, for when "
            "one load process is the bottleneck (default: 0, a single process).",
        )
        parser.add_argument(
            "--server-workers",
            type=positive_int,
            default=os.cpu_count() or 1,
            help="gunicorn worker processes (default: the CPU count, %(default)s).",
        )
        parser.add_argument(
            "--server-threads",
            type=positive_int,
            default=4,
            help="Threads per gunicorn worker (default: %(default)s).",
        )
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help="Password of the seeded users the load logs in as (default: %(default)s).",
        )
        parser.add_argument(
            "--max-fail-ratio",
            type=ratio,
            help="Exit non-zero if more than this share of a stage's requests fail (e.g. 0.01).",
        )
        parser.add_argument(
            "--max-p95",
            type=milliseconds,
            help="Exit non-zero if any endpoint's p95 at any stage exceeds this many ms "
            "(the login row excepted).",
        )

    def handle(self, *args, **options):
        if settings.SILK_ENABLED:
            raise CommandError(
                "DJANGO_SILK=1 is set: silk records every request and query, and its own "
                "overhead would be measured instead of the stages'. Unset it to replay."
            )
        stages = options["stages"]
        profile = profiles.build(
            options["profile"], users=options["users"], run_time=options["run_time"]
        )
        dataset = self.dataset()
        out = self.report_folder(options["out"])
        environment = self.environment(options)
        results = {}
        started = time.monotonic()
        self.stdout.write(
            f"Replaying profile '{options['profile']}' (up to {profile.peak_users} users, "
            f"{profile.run_time:g} s) against {len(stages)} stages on {dataset['posts']:,} "
            f"posts, {dataset['comments']:,} comments. Report: {out}"
        )
        try:
            for number, stage in enumerate(stages, 1):
                prefix = f"[{number}/{len(stages)}] {stage}"
                self.stdout.write(f"{prefix}: starting gunicorn on a copy of the data")
                results[stage] = run_stage(
                    stage,
                    stage_dir=out / stage,
                    settings_dict=settings.DATABASES["default"],
                    profile=options["profile"],
                    users=options["users"],
                    run_time=options["run_time"],
                    expected_seconds=profile.run_time,
                    processes=options["processes"],
                    server_workers=options["server_workers"],
                    server_threads=options["server_threads"],
                    password=options["password"],
                    think_time_scale=options["think_time_scale"],
                    writer_weight=options["writer_weight"],
                    progress=lambda line, prefix=prefix: self.stdout.write(f"{prefix}: {line}"),
                )
                self.stdout.write(
                    f"{prefix}: done, {results[stage]['requests']:,} requests "
                    f"({time.monotonic() - started:.0f} s elapsed)"
                )
        except KeyboardInterrupt:
            self.finish(out, results, profile, options, dataset, environment)
            raise CommandError(
                "Interrupted: servers and load stopped"
                + (f"; the stages that finished are in {out}" if results else ""),
                returncode=130,
            ) from None
        except (ServerError, LoadRunError, CloneError) as error:
            self.finish(out, results, profile, options, dataset, environment)
            raise CommandError(f"Stage {stage} failed: {error}") from None
        self.finish(out, results, profile, options, dataset, environment)
        self.stdout.write("\n" + report.comparison_table(results) + "\n")
        self.stdout.write(self.style.SUCCESS(f"Report: {out / 'report.md'}"))
        found = report.breaches(
            results, max_fail_ratio=options["max_fail_ratio"], max_p95=options["max_p95"]
        )
        if found:
            raise CommandError("Thresholds breached:\n  " + "\n  ".join(found))

    def dataset(self) -> dict:
        data = {
            "posts": Post.objects.count(),
            "comments": Comment.objects.count(),
            "users": seeded_users().count(),
        }
        if not data["posts"] or not data["users"]:
            raise CommandError(
                "There is nothing to load-test: no posts or no seeded users. "
                "Run `python manage.py seed_posts` first."
            )
        return data

    def report_folder(self, out: Path | None) -> Path:
        out = out or BASE_DIR / "reports" / datetime.now().strftime("%Y%m%d-%H%M%S")
        if out.exists() and any(out.iterdir()):
            raise CommandError(f"{out} is not empty; choose another --out.")
        out.mkdir(parents=True, exist_ok=True)
        return out

    def environment(self, options) -> dict:
        if connection.vendor == "sqlite":
            database = f"SQLite {sqlite3.sqlite_version}"
        else:
            major, minor = divmod(connection.pg_version, 10000)
            database = f"PostgreSQL {major}.{minor}"
        return {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "django": version("django"),
            "database": database,
            "server_workers": options["server_workers"],
            "server_threads": options["server_threads"],
            "locust": version("locust"),
            "locust_processes": (
                f"master + {options['processes']} workers" if options["processes"] else "1 process"
            ),
            "client": "FastHttpUser",
        }

    def finish(self, out, results, profile, options, dataset, environment):
        if not results:
            return
        report.add_ratios(results)
        report.write(
            out,
            {
                "command": self.command_line(options),
                "stages": results,
                "profile": {
                    "name": options["profile"],
                    "users": profile.peak_users,
                    "run_time_s": profile.run_time,
                    "description": profile.description,
                    "steps": [[s.until, s.users, s.spawn_rate] for s in profile.steps],
                },
                "dataset": dataset,
                "environment": environment,
            },
        )

    def command_line(self, options) -> str:
        parts = [
            "python manage.py replay",
            f"--stages {','.join(options['stages'])}",
            f"--profile {options['profile']}",
        ]
        if options["think_time_scale"] != 1:
            parts.append(f"--think-time-scale {options['think_time_scale']:g}")
        if options["writer_weight"] != 1:
            parts.append(f"--writer-weight {options['writer_weight']}")
        for name in ("users", "run_time", "processes", "max_fail_ratio", "max_p95"):
            if options[name]:
                parts.append(f"--{name.replace('_', '-')} {options[name]:g}")
        return " ".join(parts)
