"""The load harness, run for real against gunicorn on 127.0.0.1 with tiny data."""

import json
import os
import signal
import subprocess
import sys
import time
from io import StringIO
from unittest.mock import ANY

import pytest
from django.core.management import CommandError, call_command
from model_bakery import baker

from blog.models import Post
from loadtest import databases, locust_process, profiles, provenance, stats
from loadtest.endpoints import CREATE_COMMENT, CREATE_POST, DELETE_POST, EDIT_POST, LOGIN
from loadtest.endpoints import JOURNEYS as ENDPOINTS
from loadtest.management.commands import replay as replay_command
from loadtest.samples import load as samples_in
from loadtest.server import free_port, serve
from seed import accounts
from seed.accounts import DEFAULT_PASSWORD
from stages import STAGES
from tests.conftest import BASE_DIR, manage


def locust(env=None, **options):
    """Run the real locustfile headless with `options` (see locust_process.command);
    `env` adds to the environment."""
    return subprocess.run(
        locust_process.command(**options),
        cwd=BASE_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def accounts_logged_in(database_url: str) -> int:
    """How many accounts of the database at `database_url` have a token: one each
    logged in since the seed (a login reuses its account's token)."""
    result = manage(
        "shell",
        "-v0",
        "-c",
        "from rest_framework.authtoken.models import Token; print(Token.objects.count())",
        database_url=database_url,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return int(result.stdout)


class TestLocustfile:
    def test_a_plain_headless_run_uses_every_endpoint_without_failures(
        self, live_database_url, tmp_path
    ):
        """`locust --headless -u -r -t` runs as asked (no shape takes over), logs in,
        and walks every journey."""
        databases.add_accounts(live_database_url, count=6, password=DEFAULT_PASSWORD)
        with serve("paginated", env={"DATABASE_URL": live_database_url}) as url:
            result = locust(
                host=url,
                users=6,
                run_time=6,
                options={"--think-time-scale": 0.05},
                env={"LOAD_SAMPLES_DIR": str(tmp_path)},
            )

        samples = samples_in(tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        assert {sample[2] for sample in samples} == ENDPOINTS
        assert [s for s in samples if s[4]] == []  # no failures
        assert sum(1 for s in samples if s[2] == LOGIN) == 6  # each user logged in once
        assert accounts_logged_in(live_database_url) == 6  # as an account of its own
        assert "Testing http://127.0.0.1" in result.stderr  # what is under test is printed

    def test_users_in_several_load_processes_never_share_an_account(
        self, live_database_url, tmp_path
    ):
        """Each Locust worker process hands out its own share of the accounts."""
        databases.add_accounts(live_database_url, count=4, password=DEFAULT_PASSWORD)
        # A master port of its own: Locust's default would meet another run's master.
        port = free_port()
        with serve("paginated", env={"DATABASE_URL": live_database_url}) as url:
            result = locust(
                host=url,
                users=4,
                run_time=6,
                processes=2,
                options={
                    "--think-time-scale": 0.05,
                    "--master-bind-port": port,
                    "--master-port": port,
                },
                env={"LOAD_SAMPLES_DIR": str(tmp_path)},
            )

        samples = samples_in(tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        assert [s for s in samples if s[2] == LOGIN and s[4]] == []
        assert sum(1 for s in samples if s[2] == LOGIN) == 4
        assert accounts_logged_in(live_database_url) == 4

    @pytest.mark.parametrize(
        "options, env",
        [
            ({"users": 5, "run_time": 5}, {}),
            ({}, {"LOAD_PROFILE": "smoke", "LOAD_USERS": "5"}),
        ],
        ids=["users option", "profile"],
    )
    def test_more_users_than_accounts_is_refused_with_the_command_that_seeds_them(
        self, live_database_url, tmp_path, options, env
    ):
        with serve("paginated", env={"DATABASE_URL": live_database_url}) as url:
            result = locust(host=url, env={"LOAD_SAMPLES_DIR": str(tmp_path), **env}, **options)

        assert result.returncode == 1
        assert "Refused: 5 users need 5 accounts of their own, and the server has 3" in (
            result.stderr
        )
        assert "`python manage.py seed_posts --users 5 --posts 0 --comments 0`" in result.stderr
        assert samples_in(tmp_path) == []  # no user logged in, or sent anything
        assert "Traceback" not in result.stderr

    def test_a_wrong_password_stops_the_user_with_a_clear_failure(
        self, live_database_url, tmp_path
    ):
        with serve("paginated", env={"DATABASE_URL": live_database_url}) as url:
            result = locust(
                host=url,
                users=2,
                run_time=3,
                options={"--seed-password": "wrong"},
                env={"LOAD_SAMPLES_DIR": str(tmp_path)},
            )

        samples = samples_in(tmp_path)
        assert [s[2] for s in samples] == [LOGIN, LOGIN]  # nothing after a failed login
        assert all(s[4] and s[3] == 400 for s in samples)
        assert "Login as user" in result.stderr and "user stopped" in result.stderr

    def test_an_unknown_profile_stops_locust_with_the_names(self):
        result = locust(env={"LOAD_PROFILE": "tsunami"})

        assert result.returncode != 0
        assert "Unknown load profile 'tsunami'" in result.stderr
        assert "smoke, basic, spike, endurance, stress" in result.stderr


class TestReplay:
    def test_two_stages_end_to_end_with_a_report_and_a_breached_threshold(
        self, live_database_url, tmp_path
    ):
        out = tmp_path / "report"

        result = manage(
            "replay",
            "--stages",
            "select_related,paginated",
            "--users",
            "4",
            "--run-time",
            "5s",
            "--think-time-scale",
            "0.1",
            "--writer-weight",
            "4",
            "--server-workers",
            "2",
            "--out",
            str(out),
            "--max-p95",
            "0.001",
            database_url=live_database_url,
            timeout=180,
        )

        # The threshold is impossible to meet: the run exits non-zero, report written.
        assert result.returncode == 1, result.stderr[-2000:]
        assert "Thresholds breached" in result.stderr
        assert "--max-p95" in result.stderr
        report = json.loads((out / "report.json").read_text())
        assert list(report["stages"]) == ["select_related", "paginated"]
        assert report["dataset"] == {"posts": 30, "comments": 30, "users": 3}
        assert report["profile"]["users"] == 4 and report["profile"]["run_time_s"] == 5
        assert report["profile"]["description"] == profiles.PROFILES["replay"].description
        assert report["environment"]["server_workers"] == 2
        for figures in report["stages"].values():
            endpoints = figures["endpoints"]
            assert figures["failures"] == 0
            assert endpoints[LOGIN]["requests"] == 4
            lists = endpoints["GET /api/posts/"]
            assert lists["requests"] > 0
            assert 0 < lists["p50_ms"] <= lists["p95_ms"] <= lists["p99_ms"]
            assert lists["rps"] > 0
            for probed in figures["single_requests"].values():
                assert probed["cold"]["bytes"] > 0 and probed["warm"]["bytes"] > 0
            # Both workers answered every probed path before the warm figures.
            assert figures["warm_up"] == {"workers": 2, "per_worker": 1, "requests": ANY}
            # Nothing lost: every 201 is a row, every row a 201, and no 5xx.
            assert figures["writes"]["ok"] is True
            assert figures["writes"]["posts"]["201s"] > 0
            # Each stage started from the seeded data, not the previous stage's writes,
            # and the account its 4 users lacked.
            assert figures["started_from"] == {"posts": 30, "comments": 30, "seeded_users": 4}
        assert report["accounts"] == {"users": 4, "needed": 4, "seeded": 3, "added": 1}
        # The commit it was made at, for the test that it is not stale.
        assert report["provenance"] == provenance.record("replay")
        assert "the 3 seeded, and 1 added to each stage's copy" in (out / "report.md").read_text()
        # Query counts come from Server-Timing: the list query(s) plus the token lookup.
        assert (
            report["stages"]["select_related"]["endpoints"]["GET /api/posts/"][
                "queries_per_request"
            ]
            == 2
        )
        assert (
            report["stages"]["paginated"]["endpoints"]["GET /api/posts/"]["queries_per_request"]
            == 3
        )
        assert report["stages"]["paginated"]["endpoints"]["GET /api/posts/"]["vs_previous"]
        # Anonymous requests on the idle server, as `curl -i` would show them: the first
        # (cold) and, once every worker had answered, the median of a few (warm).
        probed = report["stages"]["paginated"]["single_requests"]
        assert list(probed) == ["GET /api/posts/", "GET /api/posts/[id]/", "GET /api/comments/"]
        assert probed["GET /api/posts/[id]/"]["path"] == "/api/posts/30/"  # the newest
        for name, queries in (("GET /api/posts/", 2), ("GET /api/posts/[id]/", 1)):
            assert probed[name]["cold"]["queries"] == probed[name]["warm"]["queries"] == queries
        assert probed["GET /api/posts/"]["warm"]["requests"] == 5
        assert "| paginated | GET /api/posts/[id]/ |" in (out / "report.md").read_text()
        assert (out / "chart.png").read_bytes().startswith(b"\x89PNG")
        assert "| GET /api/posts/ | paginated |" in (out / "report.md").read_text()
        for stage in ("select_related", "paginated"):
            assert (out / stage / "locust.html").exists()
            assert (out / stage / "locust_stats.csv").exists()

    def test_a_write_heavy_replay_reconciles_every_write_with_the_rows(
        self, live_database_url, tmp_path
    ):
        """Writers create, edit and delete their own posts and comment on others' while
        they go; the audit finds every answer in the stage's database after the run."""
        out = tmp_path / "report"

        result = manage(
            "replay",
            "--stages",
            "cursor",
            "--users",
            "4",
            "--run-time",
            "6s",
            "--think-time-scale",
            "0.05",
            "--writer-weight",
            "8",
            "--out",
            str(out),
            database_url=live_database_url,
            timeout=180,
        )

        assert result.returncode == 0, result.stderr[-2000:]
        writes = json.loads((out / "report.json").read_text())["stages"]["cursor"]["writes"]
        recorded = samples_in(out / "cursor")
        posts, comments = writes["posts"], writes["comments"]
        assert writes["ok"] is True, writes
        assert writes["5xx"] == 0
        # Every kind of write happened, and the audit counted each answer.
        for name, status, counted in (
            (CREATE_POST, 201, posts["201s"]),
            (DELETE_POST, 204, posts["204s"]),
            (CREATE_COMMENT, 201, comments["201s"]),
        ):
            answered = [s for s in recorded if s.name == name and s.status == status]
            assert len(answered) == counted > 0
            assert all(s.id is not None for s in answered)  # the row each one touched
        edits = [s for s in recorded if s.name in EDIT_POST and s.status == 200]
        assert {s.name for s in edits} == set(EDIT_POST)
        assert len(edits) == posts["200s"]
        assert all(s.wrote.startswith("Edited ") for s in edits)
        # Only this run's posts were deleted, and the comments on them went with them.
        assert posts["gained"] == posts["201s"] - posts["204s"]
        assert comments["gained"] == comments["201s"] - comments["gone_with_post"]
        assert (posts["lost"], posts["back"], posts["stale"], comments["lost"]) == ([],) * 4
        assert comments["orphans"] == 0
        assert "| nothing lost |" in (out / "report.md").read_text()

    def test_no_server_or_locust_is_left_running(self, live_database_url, tmp_path):
        out = tmp_path / "report"

        manage(
            "replay",
            "--stages",
            "paginated",
            "--users",
            "2",
            "--run-time",
            "2s",
            "--out",
            str(out),
            database_url=live_database_url,
            timeout=120,
        )

        left = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True)
        assert left.stdout == ""
        assert (out / "report.json").exists()


@pytest.mark.django_db
class TestReplayInput:
    @pytest.mark.parametrize(
        "args, message",
        [
            (["--stages", "naive,fastest"], "unknown stage 'fastest'"),
            (["--stages", ","], "unknown stage (none given)"),
            (["--profile", "tsunami"], "unknown profile 'tsunami'"),
            (["--run-time", "soon"], "is not a duration"),
            (["--users", "0"], "must be at least 1"),
            (["--max-fail-ratio", "5"], "between 0 and 1"),
            (["--max-p95", "-1"], "more than 0 ms"),
            (["--think-time-scale", "-1"], "must be 0 or more"),
        ],
    )
    def test_bad_options_are_clear_errors(self, args, message):
        with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
            call_command("replay", *args, stdout=StringIO())

    def test_an_empty_database_is_refused_before_anything_starts(self, tmp_path):
        with pytest.raises(CommandError, match="seed_posts"):
            call_command("replay", "--out", str(tmp_path / "r"), stdout=StringIO())

        assert not (tmp_path / "r").exists()


# Nothing listens on port 1: a Redis that is down.
CLOSED_REDIS = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
class TestAStageThisMachineCannotServe:
    """The cached stage needs Redis. Without it, a replay of every stage (`make demo`)
    goes on without that one and says how to start Redis; naming it is an error."""

    def test_named_it_is_a_clear_error_before_anything_starts(self, monkeypatch, tmp_path):
        monkeypatch.setenv("REDIS_URL", CLOSED_REDIS)

        with pytest.raises(CommandError) as error:
            call_command(
                "replay",
                "--stages",
                "cursor,cached",
                "--out",
                str(tmp_path / "r"),
                stdout=StringIO(),
            )

        message = str(error.value)
        assert message.startswith(f"Stage 'cached' needs Redis at {CLOSED_REDIS} (")
        assert message.endswith("Start it (redis-server) or set REDIS_URL.")
        assert "\n" not in message
        assert not (tmp_path / "r").exists()

    def replay_every_stage(self, monkeypatch, folder, django_user_model) -> tuple[list, str]:
        """`manage.py replay` with no --stages, on one post and one seeded account: the
        stages it replays, and what it printed. Serving and loading each stage is what
        the other tests do; here, only which stages are replayed matters."""
        baker.make(Post, user=baker.make(django_user_model, username=accounts.username(1)))
        replayed = []

        def run_stage(stage, run, *, stage_dir, progress, accounts):
            replayed.append(stage)
            figures = stats.summarize([])
            return {**figures, "started_from": {}, "single_requests": {}, "writes": None}

        monkeypatch.setattr(replay_command, "run_stage", run_stage)
        out = StringIO()
        call_command("replay", "--out", str(folder), stdout=out)
        return replayed, out.getvalue()

    def test_by_default_it_is_skipped_with_the_reason_and_the_others_are_replayed(
        self, monkeypatch, tmp_path, django_user_model
    ):
        monkeypatch.setenv("REDIS_URL", CLOSED_REDIS)
        folder = tmp_path / "r"

        replayed, printed = self.replay_every_stage(monkeypatch, folder, django_user_model)

        assert replayed == [stage for stage in STAGES if stage != "cached"]
        (skipped,) = [line for line in printed.splitlines() if "cached" in line]
        assert skipped.startswith(f"Skipped: Stage 'cached' needs Redis at {CLOSED_REDIS} (")
        assert skipped.endswith("Start it (redis-server) or set REDIS_URL.")
        report = json.loads((folder / "report.json").read_text())
        assert list(report["stages"]) == replayed
        assert report["skipped"] == {"cached": skipped.removeprefix("Skipped: ")}
        assert f" --stages {','.join(replayed)} " in report["command"]
        assert f"Not replayed: {report['skipped']['cached']}" in (folder / "report.md").read_text()

    def test_with_redis_up_every_stage_is_replayed(self, monkeypatch, tmp_path, django_user_model):
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")  # CI's and this machine's

        replayed, printed = self.replay_every_stage(monkeypatch, tmp_path / "r", django_user_model)

        assert replayed == list(STAGES)
        assert "Skipped" not in printed
        assert json.loads((tmp_path / "r" / "report.json").read_text())["skipped"] == {}


def replay_copies_left() -> list[str]:
    """PostgreSQL databases replay made and did not drop (none on SQLite runs)."""
    server = databases.project_server()
    if server is None:
        return []
    with databases.admin(server) as admin:
        rows = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE '%_replay_%'")
        return [name for (name,) in rows]


class TestInterruptedReplay:
    def test_ctrl_c_stops_the_server_and_locust_and_drops_the_copy(
        self, live_database_url, tmp_path
    ):
        out = tmp_path / "report"
        replay = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "replay",
                "--stages",
                "paginated",
                "--users",
                "2",
                "--run-time",
                "60s",
                "--out",
                str(out),
            ],
            cwd=BASE_DIR,
            env={**os.environ, "DATABASE_URL": live_database_url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Wait until Locust is running against the server, then press Ctrl-C.
        deadline = time.monotonic() + 60
        while not list(out.glob("paginated/locust_stats_history.csv")):
            assert time.monotonic() < deadline and replay.poll() is None
            time.sleep(0.2)
        time.sleep(2)

        replay.send_signal(signal.SIGINT)
        _, stderr = replay.communicate(timeout=60)

        assert replay.returncode == 130
        assert "Interrupted: servers and load stopped" in stderr
        assert "Traceback" not in stderr
        left = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True)
        assert left.stdout == ""  # no gunicorn, no Locust
        assert not list(out.glob("paginated/stage.sqlite3*"))  # the SQLite copy is gone
        assert replay_copies_left() == []  # and so is a PostgreSQL one
