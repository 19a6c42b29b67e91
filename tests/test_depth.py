"""`manage.py measure_pagination`: run for real at tiny sizes, against gunicorn on 127.0.0.1,
on the same kind of database as this test run."""

import json
import os
from io import StringIO

import dj_database_url
import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from loadtest import databases, depth, depth_report, provenance
from stages import EXPECTED_QUERIES
from tests.conftest import manage

SIZES = (30, 90)
ON_POSTGRESQL = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
DATABASE = "postgresql" if ON_POSTGRESQL else "sqlite"


def scratch_databases() -> set[str]:
    """The scratch PostgreSQL databases a run at SIZES would create (any process's)."""
    with databases.admin(databases.project_server()) as admin:
        names = admin.execute("SELECT datname FROM pg_database").fetchall()
    return {
        name
        for (name,) in names
        if name.startswith("depth_") and name.rsplit("_", 1)[-1] in map(str, SIZES)
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run at two tiny sizes, 3 requests a cell: what it printed and where it wrote."""
    out = tmp_path_factory.mktemp("pagination") / "report"
    # SQLite scratch files go into this temporary folder, to check that none is left.
    scratch = tmp_path_factory.mktemp("scratch")
    # The command's own database is never used; it must not be the repo's db.sqlite3.
    database_url = (
        databases.project_server() if ON_POSTGRESQL else f"sqlite:///{scratch / 'unused.sqlite3'}"
    )
    os.environ["TMPDIR"], previous = str(scratch), os.environ.get("TMPDIR")
    try:
        result = manage(
            "measure_pagination",
            "--sizes",
            ",".join(map(str, SIZES)),
            "--requests",
            "3",
            "--database",
            DATABASE,
            "--out",
            str(out),
            database_url=database_url,
            timeout=120,
        )
    finally:
        if previous is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = previous
    return {"result": result, "out": out, "scratch": scratch}


@pytest.fixture(scope="module")
def report(run):
    assert run["result"].returncode == 0, run["result"].stderr[-3000:]
    return json.loads((run["out"] / "report.json").read_text())


class TestAnEndToEndRun:
    def test_it_exits_zero_and_prints_the_tables_and_the_verdict(self, run):
        result = run["result"]

        assert result.returncode == 0, result.stderr[-3000:]
        assert "| p95 growth, 90 / 30 |" in result.stdout
        # At 30 and 90 posts there is nothing to see: met or missed, it is reported.
        assert "goal met" in result.stdout or "goal missed" in result.stdout

    def test_the_report_says_what_was_measured_and_how(self, report):
        assert report["sizes"] == list(SIZES)
        assert report["database"] == DATABASE
        assert report["command"] == (
            "python manage.py measure_pagination --sizes 30,90 --stages paginated,cursor "
            f"--requests 3 --database {DATABASE}"
        )
        assert report["environment"]["server"] == "1 worker x 1 thread"
        assert report["provenance"] == provenance.record("pagination")
        assert report["environment"]["database"].startswith(
            "PostgreSQL" if ON_POSTGRESQL else "SQLite"
        )

    def test_every_stage_page_and_size_has_positive_figures(self, report):
        results = report["results"]

        assert list(results) == ["paginated", "cursor"]
        for pages in results.values():
            assert list(pages) == ["page 1", "deep page"]
            for by_size in pages.values():
                assert list(by_size) == ["30", "90"]
                for figures in by_size.values():
                    assert figures["status"] == 200
                    assert figures["requests"] == 3
                    for name in ("p50_ms", "p95_ms", "queries"):
                        assert figures[name] > 0, (name, figures)
                    # SQL time is rounded to 0.1 ms: one indexed query at 30 rows can be 0.0.
                    assert figures["sql_ms"] >= 0, figures
                    assert figures["p50_ms"] <= figures["p95_ms"]

    def test_the_query_counts_are_the_stages_whatever_the_page(self, report):
        """Server-Timing's counts match the table the rest of the suite asserts:
        COUNT(*) + page for paginated, the page alone for cursor, deep or not."""
        for stage, pages in report["results"].items():
            expected = EXPECTED_QUERIES["GET /api/posts/"][stage].fixed
            for by_size in pages.values():
                assert {figures["queries"] for figures in by_size.values()} == {expected}

    def test_the_deep_pages_were_guarded_to_serve_the_same_rows(self, report):
        # 30 posts: page 2 holds rows 21-30; 90 posts: page 5 holds rows 81-90.
        for size, last_page in (("30", 2), ("90", 5)):
            guard = report["deep_pages"][size]
            assert guard["first_row"] == (last_page - 1) * depth.PAGE_SIZE + 1
            assert guard["rows"] == 10
            assert guard["same_rows"] is True
            assert guard["paths"]["paginated"] == f"/api/posts/?page={last_page}"
            assert guard["paths"]["cursor"].startswith("/api/posts/?cursor=")

    def test_growth_and_goal_are_computed_from_the_p95s(self, report):
        pages = report["results"]["cursor"]["deep page"]

        assert report["growth_p95"]["cursor"]["deep page"] == round(
            pages["90"]["p95_ms"] / pages["30"]["p95_ms"], 2
        )
        assert report["goal"]["met"] in (True, False)
        assert report["goal"]["limit"] == depth.GOAL_RATIO

    def test_the_folder_holds_the_json_the_markdown_and_a_png_chart(self, run, report):
        out = run["out"]

        assert sorted(path.name for path in out.iterdir()) == [
            "chart.png",
            "report.json",
            "report.md",
        ]
        assert (out / "chart.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        markdown = (out / "report.md").read_text()
        assert "## Deep page: the last page" in markdown
        assert "| 90 | 81 | 10 | `/api/posts/?page=5` |" in markdown

    def test_no_scratch_database_is_left(self, run, report):
        if ON_POSTGRESQL:
            assert scratch_databases() == set()
        else:
            assert [path.name for path in run["scratch"].iterdir()] == []


class TestGoal:
    def test_a_flat_cursor_and_a_growing_offset_meet_it(self):
        ratios = {"paginated": {"deep page": 40.0}, "cursor": {"deep page": 1.2}}

        assert depth.goal(ratios, [5_000, 1_000_000])["met"] is True

    def test_a_cursor_that_grows_past_the_limit_misses_it(self):
        ratios = {"paginated": {"deep page": 40.0}, "cursor": {"deep page": 1.6}}

        assert depth.goal(ratios, [5_000, 1_000_000])["met"] is False

    def test_an_offset_that_does_not_grow_misses_it(self):
        """Then the sizes were too close to show anything: the cursor proved nothing."""
        ratios = {"paginated": {"deep page": 1.1}, "cursor": {"deep page": 1.0}}

        assert depth.goal(ratios, [5_000, 6_000])["met"] is False

    def test_one_stage_alone_is_not_checked(self):
        verdict = depth.goal({"cursor": {"deep page": 1.0}}, [5_000, 1_000_000])

        assert verdict["met"] is None
        assert "goal not checked" in depth_report.goal_line(verdict, [5_000, 1_000_000])


class TestGuard:
    def test_the_same_rows_at_every_stage_pass_and_are_recorded(self):
        record = depth.guard(
            served={"paginated": [5, 4], "cursor": [5, 4]},
            expected=[5, 4],
            paths={"paginated": "/api/posts/?page=2", "cursor": "/api/posts/?cursor=x"},
            position=20,
        )

        assert record["first_row"] == 21
        assert record["same_rows"] is True

    def test_a_deep_page_with_other_rows_is_an_error(self):
        with pytest.raises(depth.DepthError, match="cursor's deep page .* not the same rows"):
            depth.guard(
                served={"paginated": [5, 4], "cursor": [6, 5]},
                expected=[5, 4],
                paths={"paginated": "/api/posts/?page=2", "cursor": "/api/posts/?cursor=x"},
                position=20,
            )


class TestInput:
    @pytest.mark.parametrize(
        "args, message",
        [
            (["--sizes", "5000,lots"], "'lots' is not a whole number of posts"),
            (["--sizes", "20"], "20 posts fit on one page"),
            (["--sizes", ","], "no size given"),
            (["--stages", "paginated,fastest"], "unknown stage 'fastest'"),
            (["--stages", "naive,cursor"], "stage 'naive' serves every row at once"),
            (["--requests", "0"], "must be at least 1"),
            (["--database", "mysql"], "invalid choice: 'mysql'"),
        ],
    )
    def test_bad_options_are_clear_errors(self, args, message):
        with pytest.raises(CommandError, match=message):
            call_command("measure_pagination", *args, stdout=StringIO())

    def test_a_folder_that_holds_files_is_refused_before_anything_starts(self, tmp_path):
        (tmp_path / "earlier.md").write_text("a previous report")

        with pytest.raises(CommandError, match="is not an empty folder"):
            call_command("measure_pagination", "--out", str(tmp_path), stdout=StringIO())

        assert [path.name for path in tmp_path.iterdir()] == ["earlier.md"]

    def test_an_unreachable_postgresql_is_a_clear_error(self, monkeypatch, tmp_path):
        # Port 1 on 127.0.0.1: nothing listens there, the connection is refused at once.
        unreachable = "postgres://postgres@127.0.0.1:1/postgres"
        monkeypatch.setattr(depth, "postgres_server", lambda database_url: unreachable)

        with pytest.raises(CommandError, match="Cannot reach PostgreSQL at 127.0.0.1:1"):
            call_command(
                "measure_pagination",
                "--database",
                "postgresql",
                "--out",
                str(tmp_path / "report"),
                stdout=StringIO(),
            )

        assert not (tmp_path / "report").exists()


class TestPostgresqlServer:
    def test_the_projects_own_server_when_it_is_postgresql(self):
        own = "postgres://app:secret@db.internal:6543/blog?sslmode=require"

        server = dj_database_url.parse(depth.postgres_server(own))

        assert (server["USER"], server["PASSWORD"], server["HOST"], server["PORT"]) == (
            "app",
            "secret",
            "db.internal",
            6543,
        )

    def test_its_options_carry_over_to_every_database_made_on_it(self):
        own = "postgres://app:secret@db.internal:6543/blog?sslmode=require"

        scratch = databases.with_name(depth.postgres_server(own), "depth_1_5000")

        assert scratch == "postgres://app:secret@db.internal:6543/depth_1_5000?sslmode=require"

    def test_the_local_default_when_the_project_uses_sqlite(self):
        server = dj_database_url.parse(depth.postgres_server("sqlite:///db.sqlite3"))

        assert (server["USER"], server["HOST"], server["PORT"]) == ("postgres", "127.0.0.1", 5432)
