import time
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from blog.models import Comment, Post
from loadtest import databases, environment, logins, profiles, provenance, report, stats
from loadtest.arguments import (
    duration,
    milliseconds,
    non_negative_float,
    non_negative_int,
    positive_int,
    profile_name,
    ratio,
    stage_list,
)
from loadtest.databases import DatabaseSetupError
from loadtest.locust_process import LoadRunError
from loadtest.management.guards import refuse_profiling
from loadtest.replay import RunSettings, run_stage
from loadtest.server import BASE_DIR, ServerError, gunicorn_setting
from seed.accounts import DEFAULT_PASSWORD, seeded_users
from stages import STAGES, unavailable


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
            help=f"Comma-separated stages, in order (default: {','.join(STAGES)}, less any "
            "this machine cannot serve, such as cached without Redis; a stage named here "
            "that cannot be served is an error).",
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
            "23 %% writes; 8 a write-heavy load for the writes audit (default: %(default)s).",
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
            default=gunicorn_setting("workers"),
            help="gunicorn worker processes (default: gunicorn.conf.py's, %(default)s).",
        )
        parser.add_argument(
            "--server-threads",
            type=positive_int,
            default=gunicorn_setting("threads"),
            help="Threads per gunicorn worker (default: gunicorn.conf.py's, %(default)s).",
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
        refuse_profiling("replay")
        stages, skipped = self.runnable(options["stages"])
        run = RunSettings.from_options({**options, "stages": stages})
        source = provenance.record("replay")
        dataset = self.dataset()
        accounts = logins.plan(
            users=run.profile.peak_users, processes=run.processes, seeded=dataset["users"]
        )
        out = self.report_folder(options["out"])
        machine = self.environment(run)
        results = {}
        started = time.monotonic()
        self.stdout.write(
            f"Replaying profile '{run.profile.name}' (up to {run.profile.peak_users} users, "
            f"{run.profile.run_time:g} s) against {len(run.stages)} stages on "
            f"{dataset['posts']:,} posts, {dataset['comments']:,} comments. Report: {out}"
        )
        try:
            for number, stage in enumerate(run.stages, 1):
                prefix = f"[{number}/{len(run.stages)}] {stage}"
                self.stdout.write(f"{prefix}: starting gunicorn on a copy of the data")
                results[stage] = run_stage(
                    stage,
                    run,
                    stage_dir=out / stage,
                    progress=lambda line, prefix=prefix: self.stdout.write(f"{prefix}: {line}"),
                    accounts=accounts,
                )
                cache = results[stage]["cache"]
                self.stdout.write(
                    f"{prefix}: done, {results[stage]['requests']:,} requests"
                    + (f", cache hits {report.cache_hits(cache)}" if cache else "")
                    + f" ({time.monotonic() - started:.0f} s elapsed)"
                )
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted: servers and load stopped"
                + (f"; the stages that finished are in {out}" if results else ""),
                returncode=130,
            ) from None
        except (ServerError, LoadRunError, DatabaseSetupError) as error:
            raise CommandError(f"Stage {stage} failed: {error}") from None
        finally:
            # Whatever stopped the run, the stages that finished are reported.
            if results:
                self.write_report(out, results, run, dataset, machine, accounts, source, skipped)
        self.stdout.write("\n" + report.comparison_table(results) + "\n")
        self.stdout.write(self.style.SUCCESS(f"Report: {out / 'report.md'}"))
        found = stats.breaches(results, max_fail_ratio=run.max_fail_ratio, max_p95=run.max_p95)
        if found:
            raise CommandError("Thresholds breached:\n  " + "\n  ".join(found))

    def runnable(self, asked: list[str] | None) -> tuple[list[str], dict[str, str]]:
        """The stages to replay, and those skipped with the reason why. Every stage
        asked for must be able to run here; by default, every stage that can, and a
        line for each that cannot (the cached stage without Redis)."""
        if asked:
            for stage in asked:
                if reason := unavailable(stage):
                    raise CommandError(reason)
            return asked, {}
        skipped = {stage: reason for stage in STAGES if (reason := unavailable(stage))}
        for reason in skipped.values():
            self.stdout.write(self.style.WARNING(f"Skipped: {reason}"))
        return [stage for stage in STAGES if stage not in skipped], skipped

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

    def environment(self, run: RunSettings) -> dict:
        return {
            **environment.machine(),
            "database": environment.database_version(databases.project_server()),
            "server_workers": run.server_workers,
            "server_threads": run.server_threads,
            "locust": version("locust"),
            "locust_processes": (
                f"master + {run.processes} workers" if run.processes else "1 process"
            ),
            "client": "FastHttpUser",
        }

    def write_report(
        self, out, results, run: RunSettings, dataset, machine, accounts, source, skipped
    ):
        stats.add_ratios(results)
        profile = run.profile
        report.write(
            out,
            {
                "command": run.command_line(),
                "stages": results,
                "skipped": skipped,
                "profile": {
                    "name": profile.name,
                    "users": profile.peak_users,
                    "run_time_s": profile.run_time,
                    "description": profile.description,
                    "steps": [[s.until, s.users, s.spawn_rate] for s in profile.steps],
                },
                "dataset": dataset,
                "accounts": accounts,
                "environment": machine,
                "provenance": source,
            },
        )
