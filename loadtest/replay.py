"""Replay one load profile against one stage: clone the data, serve, run Locust, collect.

`RunSettings` is what `manage.py replay` was asked for, checked once; `run_stage` does
one stage with it, each step from the module whose job it is: databases.py, server.py,
probe.py, locust_process.py, then samples.py, written.py (what the copy holds after
the run) and stats.py for the figures.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from . import databases, locust_process, probe, profiles, samples, stats, written
from .endpoints import COMMENTS, POST, POSTS, row
from .server import running

# What /api/health/ counts before and after a run, for the writes audit.
COUNTED = ("posts", "comments", "seeded_users")
# When the profile ends, let each user's request in flight finish rather than cutting
# it off: a write the server completes after its client was killed would be a row with
# no 201, and the writes audit would call it lost.
STOP_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class RunSettings:
    """How to replay: the options of `manage.py replay`, checked, for every stage."""

    stages: tuple[str, ...]
    profile: profiles.Profile  # rescaled by `users` and `run_time`
    users: int | None  # the --users override, if given
    run_time: float | None  # the --run-time override, if given
    think_time_scale: float
    writer_weight: int
    processes: int  # Locust worker processes; 0 for one process
    server_workers: int
    server_threads: int
    password: str
    max_fail_ratio: float | None
    max_p95: float | None

    @classmethod
    def from_options(cls, options: dict) -> "RunSettings":
        """The settings from `replay`'s parsed options, one per field (their types have
        checked them); the profile rescaled by the overrides."""
        given = {field.name: options[field.name] for field in fields(cls)}
        profile = profiles.build(
            options["profile"], users=options["users"], run_time=options["run_time"]
        )
        return cls(**{**given, "stages": tuple(options["stages"]), "profile": profile})

    def command_line(self) -> str:
        """The command that asks for this run, as the report quotes it."""
        parts = [
            "python manage.py replay",
            f"--stages {','.join(self.stages)}",
            f"--profile {self.profile.name}",
        ]
        if self.think_time_scale != 1:
            parts.append(f"--think-time-scale {self.think_time_scale:g}")
        if self.writer_weight != 1:
            parts.append(f"--writer-weight {self.writer_weight}")
        for name in ("users", "run_time", "processes", "max_fail_ratio", "max_p95"):
            if value := getattr(self, name):
                parts.append(f"--{name.replace('_', '-')} {value:g}")
        return " ".join(parts)


def probed(post_ids: list[int]) -> dict[str, str]:
    """The anonymous requests made on the idle server before the load, by report row:
    what a reader sees with `curl -i`, for the walkthrough's "measure first" step. The
    two lists, and the newest post (`post_ids` is the lowest and highest id)."""
    return {
        row("GET", POSTS): POSTS,
        row("GET", POST): f"{POSTS}{post_ids[1]}/",
        row("GET", COMMENTS): COMMENTS,
    }


def run_stage(
    stage: str,
    run: RunSettings,
    *,
    stage_dir: Path,
    progress: Callable[[str], None],
    accounts: dict,
) -> dict:
    """Serve `stage` on a copy of the database, run the profile, return its figures.

    `accounts` is the plan of logins.plan: the copy is given the accounts it lacks."""
    stage_dir.mkdir(parents=True, exist_ok=True)
    with databases.clone(stage_dir) as database_url:
        if accounts["added"]:
            databases.add_accounts(database_url, count=accounts["needed"], password=run.password)
        with running(
            stage,
            env={"DATABASE_URL": database_url},
            workers=run.server_workers,
            threads=run.server_threads,
            log_path=stage_dir / "server.log",
        ) as server:
            url = server.url
            started_from = _counts(url)
            single_requests, warm_up = probe.single_requests(
                url, probed(probe.health(url)["post_ids"]), server_pid=server.pid
            )
            locust_process.run(
                _locust_command(url, run, stage_dir),
                env=_locust_environment(run, stage_dir),
                log_path=stage_dir / "locust.log",
                expected_seconds=run.profile.run_time,
                progress=progress,
            )
            ended_with = _counts(url)
        recorded = samples.load(stage_dir)
        # The server has stopped: every write it answered is in the copy.
        held = written.read(database_url, recorded)
    result = stats.summarize(recorded)
    result["started_from"] = started_from
    result["single_requests"] = single_requests
    result["warm_up"] = warm_up
    result["writes"] = stats.audit_writes(
        recorded, before=started_from, after=ended_with, held=held
    )
    return result


def _counts(url: str) -> dict:
    health = probe.health(url)
    return {key: health[key] for key in COUNTED}


def _locust_command(url: str, run: RunSettings, stage_dir: Path) -> list[str]:
    # Users, spawn rate and run time come from the profile's shape (LOAD_PROFILE).
    return locust_process.command(
        host=url,
        processes=run.processes,
        csv_prefix=stage_dir / "locust",
        html=stage_dir / "locust.html",
        stop_timeout=STOP_TIMEOUT_SECONDS,
        # Failed requests are counted in the report; a non-zero exit means Locust broke.
        exit_code_on_error=0,
        options={
            "--seed-password": run.password,
            "--think-time-scale": run.think_time_scale,
            "--writer-weight": run.writer_weight,
        },
    )


def _locust_environment(run: RunSettings, stage_dir: Path) -> dict[str, str]:
    """This environment, with the profile for the locustfile's shape (profiles.py) and
    the folder for its samples (samples.py)."""
    env = {**os.environ, "LOAD_PROFILE": run.profile.name, "LOAD_SAMPLES_DIR": str(stage_dir)}
    env.pop("LOAD_USERS", None)
    env.pop("LOAD_RUN_TIME", None)
    if run.users:
        env["LOAD_USERS"] = str(run.users)
    if run.run_time:
        env["LOAD_RUN_TIME"] = str(run.run_time)
    return env
