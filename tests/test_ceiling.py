"""`manage.py measure_ceiling`: run for real for a second an endpoint, at tiny data,
against gunicorn on 127.0.0.1, on the same kind of database as this test run; and the
trivial endpoint it measures against, which the served API never has."""

import http.client
import json
import uuid
from io import StringIO

import psutil
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import NoReverseMatch, reverse
from rest_framework.test import APIClient

import project.settings
from loadtest import ceiling, ceiling_report, ceiling_settings, databases, generators, probe
from loadtest.ceiling import ServerConfig
from loadtest.server import running
from project.middleware import parse
from stages import STAGES
from tests.conftest import manage

WRK = generators.wrk_path()
ENDPOINTS = ["list", "detail", "health", "trivial"]


def copies_left(database_url: str) -> list[str]:
    """The PostgreSQL copies of `database_url`'s database that a run left behind."""
    server = databases.project_server()
    name = database_url.rsplit("/", 1)[1]
    with databases.admin(server) as admin:
        names = admin.execute("SELECT datname FROM pg_database").fetchall()
    return [each for (each,) in names if each.startswith(f"{name}_replay_")]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A database of its own with 30 posts, for the command to copy and serve."""
    name = f"ceiling_{uuid.uuid4().hex[:12]}"
    folder = tmp_path_factory.mktemp("ceiling-db")
    with databases.empty(name, server=databases.project_server(), folder=folder) as url:
        databases.populate(url, users=3, posts=30, comments=30, timeout=120)
        yield url


def measure(database_url, out, *args):
    return manage(
        "measure_ceiling",
        "--stages",
        "cursor",
        "--duration",
        "1s",
        "--connections",
        "2",
        "--out",
        str(out),
        *args,
        database_url=database_url,
        timeout=180,
    )


@pytest.fixture(scope="module")
def wrk_run(seeded, tmp_path_factory):
    """Every endpoint, two server setups, wrk: what it printed and its report."""
    if WRK is None:
        pytest.skip("wrk is not installed (apt-get install wrk): its run is not tested")
    out = tmp_path_factory.mktemp("ceiling-wrk") / "report"
    result = measure(seeded, out, "--servers", "sync:1,gthread:1x2", "--generator", "wrk")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result, json.loads((out / "report.json").read_text()), out


@pytest.fixture(scope="module")
def locust_run(seeded, tmp_path_factory):
    """Two endpoints, one server setup, Locust in one worker process."""
    out = tmp_path_factory.mktemp("ceiling-locust") / "report"
    result = measure(
        seeded,
        out,
        "--endpoints",
        "detail,trivial",
        "--servers",
        "gthread:1x2",
        "--generator",
        "locust",
        "--generator-workers",
        "1",
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result, json.loads((out / "report.json").read_text()), out


def assert_figures_of_a_real_run(endpoints: dict):
    """Each endpoint answered, without failures, with figures that hang together, and
    the ratio is to the trivial endpoint of the same server."""
    trivial = endpoints["trivial"]["rps"]
    for name, figures in endpoints.items():
        assert figures["requests"] > 0, name
        assert figures["failures"] == 0, (name, figures)
        assert figures["rps"] > 0, name
        assert 0 < figures["p50_ms"] <= figures["p99_ms"], (name, figures)
        assert figures["server_cpu_s"] > 0, (name, figures)
        # From the CPU before it was rounded to 10 ms.
        assert figures["server_cpu_ms_per_request"] == pytest.approx(
            figures["server_cpu_s"] * 1000 / figures["requests"], abs=6 / figures["requests"]
        )
        assert figures["generator_cpu_s"] > 0, (name, figures)
        assert figures["generator_lighter"] == (
            figures["generator_cpu_s"] < figures["server_cpu_s"]
        )
        assert figures["ratio"] == round(figures["rps"] / trivial, 3), name
    assert endpoints["trivial"]["ratio"] == 1.0


class TestARunWithWrk:
    def test_it_prints_both_setups_side_by_side_and_every_figure(self, wrk_run):
        result, _, _ = wrk_run

        assert "| stage | endpoint | `sync:1` | `gthread:1x2` |" in result.stdout
        assert "| sync:1 | cursor | list |" in result.stdout
        assert "| gthread:1x2 | cursor | trivial |" in result.stdout
        assert "wrk used" in result.stdout

    def test_every_setup_and_endpoint_was_measured(self, wrk_run):
        _, report, _ = wrk_run

        assert list(report["results"]) == ["sync:1", "gthread:1x2"]
        for stages in report["results"].values():
            assert list(stages) == ["cursor"]
            assert list(stages["cursor"]) == ENDPOINTS
            assert_figures_of_a_real_run(stages["cursor"])
        assert report["rounds"][0]["sync:1"]["cursor"]["list"]["settled"] is True

    def test_the_report_says_what_was_measured_and_how(self, wrk_run):
        _, report, _ = wrk_run

        assert report["command"] == (
            "python manage.py measure_ceiling --stages cursor --endpoints "
            "list,detail,health,trivial --duration 1s --connections 2 --servers "
            "sync:1,gthread:1x2 --generator wrk --generator-workers 1 --rounds 1"
        )
        assert report["data"]["posts"] == 30
        assert report["data"]["served_from"] == "a copy of this database"
        assert report["environment"]["generator"].startswith("wrk ")
        assert report["generator"]["lighter_everywhere"] == (
            report["generator"]["heavier_in"] == []
        )

    def test_the_folder_holds_the_json_the_markdown_and_a_png_chart(self, wrk_run):
        _, _, out = wrk_run

        assert sorted(path.name for path in out.iterdir()) == [
            "chart.png",
            "report.json",
            "report.md",
        ]
        assert (out / "chart.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert "## Server setups side by side" in (out / "report.md").read_text()

    def test_no_copy_of_the_database_is_left(self, wrk_run, seeded):
        if seeded.startswith("sqlite"):
            pytest.skip("a SQLite copy lives in a temporary folder, removed with it")
        assert copies_left(seeded) == []


class TestARunWithLocust:
    def test_the_endpoints_were_measured_with_the_generators_cpu(self, locust_run):
        _, report, _ = locust_run

        endpoints = report["results"]["gthread:1x2"]["cursor"]
        assert list(endpoints) == ["detail", "trivial"]
        assert_figures_of_a_real_run(endpoints)
        assert report["environment"]["generator"].startswith("Locust ")
        assert "FastHttpUser, 1 worker process" in report["environment"]["generator"]

    def test_it_prints_the_table_with_locusts_cpu(self, locust_run):
        result, _, _ = locust_run

        assert "| stage | endpoint | rps | p50 | p99 | of trivial |" in result.stdout
        assert "Locust CPU" in result.stdout
        assert "| cursor | detail |" in result.stdout


class TestTheTrivialEndpoint:
    @pytest.mark.django_db
    @pytest.mark.parametrize("stage", STAGES)
    def test_the_served_api_does_not_have_it(self, stage, at_stage):
        at_stage(stage)

        response = APIClient().get(ceiling.ENDPOINTS["trivial"])

        assert response.status_code == 404
        with pytest.raises(NoReverseMatch):
            reverse("trivial")

    @pytest.mark.django_db
    def test_the_benchmark_serves_it_through_the_same_middleware(self):
        with override_settings(ROOT_URLCONF=ceiling_settings.ROOT_URLCONF):
            response = APIClient().get(ceiling.ENDPOINTS["trivial"])

        assert response.status_code == 200
        assert response.json() == {"ok": True}
        assert response["X-Stage"] == project.settings.STAGE
        assert parse(response["Server-Timing"]).queries == 0

    def test_the_benchmarks_settings_are_the_projects_but_for_the_urls(self):
        def upper(module):
            return {name: getattr(module, name) for name in dir(module) if name.isupper()}

        theirs, ours = upper(project.settings), upper(ceiling_settings)

        assert ours.pop("ROOT_URLCONF") == "loadtest.ceiling_urls"
        theirs.pop("ROOT_URLCONF")
        assert ours == theirs


class TestServerConfig:
    @pytest.mark.parametrize(
        "text, config",
        [
            ("sync:2", ServerConfig("sync", 2, 1)),
            ("gthread:2x4", ServerConfig("gthread", 2, 4)),
            (" gthread:4x1 ", ServerConfig("gthread", 4, 1)),
        ],
    )
    def test_a_setup_is_read_and_written_back_the_same(self, text, config):
        assert ServerConfig.parse(text) == config
        assert str(config) == text.strip()


class TestConnectionsPerWorker:
    def test_a_gthread_worker_holds_its_share_plus_one_per_thread(self):
        assert ServerConfig("gthread", 2, 1).worker_connections(32) == 17
        assert ServerConfig("gthread", 2, 4).worker_connections(32) == 20
        assert ServerConfig("gthread", 4, 1).worker_connections(10) == 4

    def test_a_sync_worker_is_not_capped(self):
        assert ServerConfig("sync", 2).worker_connections(32) is None

    def test_no_worker_of_a_served_setup_holds_more_than_its_cap(self, seeded):
        """Eight keep-alive connections to 2 workers of 1 thread: each worker may hold
        at most 5, so both take some, whichever accepted first."""
        config, connections = ServerConfig("gthread", 2, 1), 8
        cap = config.worker_connections(connections)
        env = {"DATABASE_URL": seeded, "DJANGO_SETTINGS_MODULE": ceiling.SETTINGS_MODULE}
        with running(
            "cursor",
            env=env,
            workers=config.workers,
            threads=config.threads,
            worker_class=config.worker_class,
            worker_connections=cap,
        ) as server:
            port = int(server.url.rsplit(":", 1)[1])
            clients = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(connections)]
            for client in clients:
                client.request("GET", "/api/trivial/")
                assert client.getresponse().read() == b'{"ok":true}'
            held = [
                sum(
                    c.status == psutil.CONN_ESTABLISHED
                    for c in psutil.Process(pid).net_connections("tcp")
                )
                for pid in probe.worker_pids(server.pid)
            ]
            for client in clients:
                client.close()

        assert len(held) == 2
        assert all(count <= cap for count in held), held
        assert all(count > 0 for count in held), held


class TestInput:
    @pytest.mark.parametrize(
        "args, message",
        [
            (["--stages", "cursor,fastest"], "unknown stage 'fastest'"),
            (["--endpoints", "list,home"], "unknown endpoint 'home'"),
            (["--endpoints", ","], r"unknown endpoint \(none given\)"),
            (["--servers", "sync:2x4"], "a sync worker has one thread; write sync:2"),
            (["--servers", "gthread:2"], "say how many threads, e.g. gthread:2x4"),
            (["--servers", "eventlet:2"], "is not a server setup"),
            (["--servers", "gthread:twox4"], "workers and threads are whole numbers"),
            (["--servers", "gthread:0x4"], "at least one worker and one thread"),
            (["--duration", "0.5s"], "give whole seconds, at least 1"),
            (["--duration", "soon"], "soon"),
            (["--connections", "0"], "must be at least 1"),
            (["--generator", "ab"], "invalid choice: 'ab'"),
            (["--rounds", "-1"], "is negative"),
        ],
    )
    def test_bad_options_are_clear_errors(self, args, message):
        with pytest.raises(CommandError, match=message):
            call_command("measure_ceiling", *args, stdout=StringIO())

    def test_asking_for_wrk_where_it_is_not_installed_says_what_to_do(self, monkeypatch):
        monkeypatch.setattr(generators, "wrk_path", lambda: None)

        with pytest.raises(CommandError, match="wrk is not installed.*--generator locust"):
            call_command("measure_ceiling", "--generator", "wrk", stdout=StringIO())

    def test_a_folder_that_holds_files_is_refused_before_anything_starts(self, tmp_path):
        (tmp_path / "earlier.md").write_text("a previous report")

        with pytest.raises(CommandError, match="is not an empty folder"):
            call_command("measure_ceiling", "--out", str(tmp_path), stdout=StringIO())

        assert [path.name for path in tmp_path.iterdir()] == ["earlier.md"]

    @pytest.mark.django_db
    def test_a_database_without_posts_is_refused_with_how_to_seed(self, tmp_path):
        with pytest.raises(CommandError, match="has no posts: seed it first"):
            call_command("measure_ceiling", "--out", str(tmp_path / "r"), stdout=StringIO())

        assert not (tmp_path / "r").exists()


def figures(rps, *, ratio=None, lighter=True, p50=1.0, failures=0):
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p50 * 2,
        "ratio": ratio,
        "server_cpu_s": 2.0,
        "server_cpu_ms_per_request": 2.0,
        "generator_cpu_s": 0.1 if lighter else 3.0,
        "generator_lighter": lighter,
        "requests": int(rps),
        "failures": failures,
    }


class TestFigures:
    def test_ratios_are_to_the_trivial_endpoint_of_the_same_server(self):
        results = ceiling.with_ratios({"list": figures(250.0), "trivial": figures(1000.0)})

        assert results["list"]["ratio"] == 0.25
        assert results["trivial"]["ratio"] == 1.0

    def test_without_a_trivial_endpoint_there_is_no_ratio(self):
        results = ceiling.with_ratios({"list": figures(250.0)})

        assert results["list"]["ratio"] is None

    def test_rounds_combine_into_medians_and_sums(self):
        rounds = [
            {"sync:2": {"cursor": {"list": figures(rps, ratio=rps / 1000, failures=1)}}}
            for rps in (100.0, 300.0, 200.0)
        ]

        combined = ceiling.combine(rounds)["sync:2"]["cursor"]["list"]

        assert combined["rps"] == 200.0
        assert combined["ratio"] == 0.2
        assert combined["failures"] == 3
        assert combined["rounds"] == 3

    def test_a_generator_heavier_than_the_server_in_one_run_is_named(self):
        heavy = figures(9.0, lighter=False)
        rounds = [
            {"sync:2": {"cursor": {"list": figures(100.0), "trivial": figures(900.0)}}},
            {"sync:2": {"cursor": {"list": figures(100.0), "trivial": heavy}}},
        ]

        verdict = ceiling.generator_verdict(rounds)

        assert verdict == {
            "lighter_everywhere": False,
            "heavier_in": ["round 2, sync:2, cursor, trivial"],
        }
        assert ceiling.combine(rounds)["sync:2"]["cursor"]["trivial"]["generator_lighter"] is False

    def test_wrks_line_gives_rps_percentiles_and_failures(self):
        line = {
            "requests": 2000,
            "duration_us": 4_000_000,
            "bytes": 1,
            "errors": {"connect": 0, "read": 1, "write": 0, "status": 2, "timeout": 0},
            "p50_us": 1500,
            "p99_us": 12000,
            "max_us": 30000,
        }

        assert ceiling.wrk_figures(line) == {
            "requests": 2000,
            "failures": 3,
            "rps": 500.0,
            "p50_ms": 1.5,
            "p99_ms": 12.0,
        }


class TestReport:
    def test_the_comparison_has_a_column_per_setup_with_rps_and_share(self):
        report = {
            "results": {
                "sync:2": {"cursor": {"list": figures(400.0, ratio=0.4)}},
                "gthread:2x4": {"cursor": {"list": figures(200.0, ratio=0.1)}},
            }
        }

        table = ceiling_report.comparison_table(report)

        assert table.splitlines()[0] == "| stage | endpoint | `sync:2` | `gthread:2x4` |"
        assert table.splitlines()[2] == "| cursor | list | 400 (40.0 %) | 200 (10.0 %) |"
