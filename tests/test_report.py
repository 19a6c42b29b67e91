"""The replay's statistics: exact percentiles, and the login burst set apart."""

import json

import pytest

from loadtest import report, stats
from loadtest.endpoints import LOGIN
from loadtest.samples import Sample


def sample(start, ms, name="GET /api/posts/", status=200, failed=False, queries=2):
    return Sample(start, ms, name, status, failed, queries)


class TestPercentile:
    def test_nearest_rank(self):
        values = sorted(range(1, 101))

        assert stats.percentile(values, 50) == 50
        assert stats.percentile(values, 95) == 95
        assert stats.percentile(values, 99) == 99
        assert stats.percentile(values, 100) == 100

    def test_one_value_is_every_percentile(self):
        assert stats.percentile([7.0], 50) == stats.percentile([7.0], 99) == 7.0

    def test_no_values_no_percentile(self):
        assert stats.percentile([], 95) is None


class TestSummarize:
    def test_requests_finished_during_a_login_are_set_apart_and_logins_get_their_own_row(self):
        samples = [
            sample(0.0, 1000, LOGIN, queries=3),  # a login from 0 s to 1 s
            sample(0.5, 400),  # finished during the login: set apart
            sample(2.0, 10),
            sample(3.0, 30),
            sample(10.0, 20),  # the run ends at 10.02 s
        ]

        summary = stats.summarize(samples)

        lists = summary["endpoints"]["GET /api/posts/"]
        assert lists["requests"] == 3
        assert (lists["p50_ms"], lists["p95_ms"]) == (20, 30)
        assert summary["set_apart_during_logins"] == 1
        assert summary["endpoints"][LOGIN]["requests"] == 1
        assert summary["steady_s"] == pytest.approx(9.0, abs=0.05)
        assert lists["rps"] == pytest.approx(3 / 9.02, abs=0.01)

    def test_a_request_that_outlasts_the_login_burst_counts(self):
        """A slow request that began during the burst is slow on its own account."""
        samples = [sample(0.0, 1000, LOGIN), sample(0.5, 9000), sample(5.0, 5)]

        summary = stats.summarize(samples)

        assert summary["endpoints"]["GET /api/posts/"]["requests"] == 2
        assert summary["set_apart_during_logins"] == 0

    def test_a_request_that_starts_after_a_login_ends_counts(self):
        samples = [sample(0.0, 1000, LOGIN), sample(1.0, 5), sample(5.0, 5)]

        summary = stats.summarize(samples)

        assert summary["endpoints"]["GET /api/posts/"]["requests"] == 2
        assert summary["set_apart_during_logins"] == 0

    def test_failures_and_queries_are_counted(self):
        samples = [
            sample(0, 5, queries=2),
            sample(1, 5, queries=4),
            sample(2, 5, status=500, failed=True, queries=None),
        ]

        summary = stats.summarize(samples)

        figures = summary["endpoints"]["GET /api/posts/"]
        assert figures["failures"] == 1
        assert figures["queries_per_request"] == 3.0
        assert summary["fail_ratio"] == pytest.approx(1 / 3, abs=0.001)

    def test_no_samples_is_an_empty_summary(self):
        assert stats.summarize([])["requests"] == 0


class TestComparison:
    def stages(self):
        return {
            "naive": {
                "endpoints": {"GET /api/posts/": {"p95_ms": 1000.0, "rps": 1.0}},
                "fail_ratio": 0.0,
            },
            "paginated": {
                "endpoints": {
                    "GET /api/posts/": {"p95_ms": 10.0, "rps": 50.0},
                    LOGIN: {"p95_ms": 900.0, "rps": 1.0},
                },
                "fail_ratio": 0.02,
            },
        }

    def test_each_stage_is_compared_with_the_one_before(self):
        stages = self.stages()

        stats.add_ratios(stages)

        assert stages["naive"]["endpoints"]["GET /api/posts/"]["vs_previous"] is None
        assert stages["paginated"]["endpoints"]["GET /api/posts/"]["vs_previous"] == {
            "p95_times_lower": 100.0,
            "rps_times_higher": 50.0,
        }

    def test_thresholds_name_what_broke_them_and_spare_the_login_row(self):
        found = stats.breaches(self.stages(), max_fail_ratio=0.01, max_p95=500)

        assert found == [
            "naive: GET /api/posts/ p95 1000 ms (--max-p95 500)",
            "paginated: 2.00% of requests failed (--max-fail-ratio 0.01)",
        ]

    def test_no_thresholds_no_breaches(self):
        assert stats.breaches(self.stages()) == []


def test_write_makes_the_json_the_markdown_and_the_chart(tmp_path):
    stages = {
        name: stats.summarize([sample(0, 300, LOGIN), sample(1, ms), sample(2, ms * 2)])
        for name, ms in (("naive", 900.0), ("paginated", 9.0))
    }
    stats.add_ratios(stages)
    data = {
        "command": "python manage.py replay",
        "stages": stages,
        "profile": {
            "name": "smoke",
            "users": 3,
            "run_time_s": 15,
            "description": "d",
            "steps": [[15, 3, 3]],
        },
        "dataset": {"posts": 10, "comments": 5, "users": 2},
        "environment": {
            "cpu_count": 2,
            "python": "3.11",
            "django": "5.2",
            "database": "SQLite",
            "server_workers": 2,
            "server_threads": 4,
            "locust": "2",
            "locust_processes": "1 process",
            "client": "FastHttpUser",
        },
    }

    report.write(tmp_path, data)

    assert (
        json.loads((tmp_path / "report.json").read_text())["stages"]["paginated"]["endpoints"][
            "GET /api/posts/"
        ]["p95_ms"]
        == 18.0
    )
    markdown = (tmp_path / "report.md").read_text()
    assert "| GET /api/posts/ | paginated | 2 | 0 |" in markdown
    assert "100.0× lower" in markdown
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")


class TestWritesAudit:
    def test_rows_created_match_the_201s(self):
        samples = [
            sample(0, 5, "POST /api/posts/", status=201),
            sample(1, 5, "POST /api/posts/", status=201),
            sample(2, 5, "POST /api/posts/[id]/comments/", status=201),
            sample(3, 5, "POST /api/posts/", status=400, failed=True),
        ]

        audit = stats.audit_writes(
            samples, before={"posts": 10, "comments": 5}, after={"posts": 12, "comments": 6}
        )

        assert audit == {
            "posts": {"created": 2, "201s": 2},
            "comments": {"created": 1, "201s": 1},
            "5xx": 0,
            "ok": True,
        }

    def test_a_lost_write_or_a_5xx_fails_the_audit_and_is_a_breach(self):
        samples = [sample(0, 5, "POST /api/posts/", status=201), sample(1, 5, status=503)]

        audit = stats.audit_writes(
            samples, before={"posts": 10, "comments": 5}, after={"posts": 10, "comments": 5}
        )
        found = stats.breaches({"naive": {"endpoints": {}, "fail_ratio": 0.0, "writes": audit}})

        assert audit["ok"] is False and audit["5xx"] == 1
        assert found == [
            "naive: writes audit failed: posts 0 created, 1 201s; comments 0 created, "
            "0 201s; 1 5xx responses"
        ]
