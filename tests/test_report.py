"""The replay's statistics: exact percentiles, and the login burst set apart."""

import json

import pytest

from loadtest import report, samples, stats
from loadtest.endpoints import CREATE_COMMENT, CREATE_POST, DELETE_POST, LOGIN
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

    def test_a_request_that_started_during_a_login_is_set_apart_however_long(self):
        """It waited in line behind the hashing, and finished after the last login."""
        samples = [sample(0.0, 1000, LOGIN), sample(0.5, 9000), sample(5.0, 5)]

        summary = stats.summarize(samples)

        assert summary["endpoints"]["GET /api/posts/"]["requests"] == 1
        assert summary["endpoints"]["GET /api/posts/"]["p95_ms"] == 5
        assert summary["set_apart_during_logins"] == 1

    def test_a_slow_request_that_started_after_the_burst_counts(self):
        samples = [sample(0.0, 1000, LOGIN), sample(1.5, 9000), sample(5.0, 5)]

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
    # p95 900 ms -> 9 ms; RPS 2 requests in 3.5 steady s -> 2 in 1.72 s.
    assert "| 100× lower | 2.0× higher |" in markdown
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")


def create_post(start, post_id, title="Load test post", status=201):
    created = post_id if status == 201 else None
    return Sample(start, 5, CREATE_POST, status, status >= 400, 3, id=created, wrote=title)


def edit(start, post_id, title, status=200, method="PUT"):
    name = f"{method} /api/posts/[id]/"
    return Sample(start, 5, name, status, status >= 400, 3, id=post_id, wrote=title)


def delete(start, post_id, status=204):
    return Sample(start, 5, DELETE_POST, status, status >= 400, 3, id=post_id)


def comment(start, comment_id, post_id, status=201):
    created = comment_id if status == 201 else None
    return Sample(start, 5, CREATE_COMMENT, status, status >= 400, 3, id=created, post=post_id)


class TestWritesAudit:
    """The writes audit reconciles every write's answer with the rows held after the run."""

    # Seeded: posts 1-10 and comments 1-5. During the run, post 11 is edited twice; post
    # 12 gets a comment and is deleted (the comment goes with it); post 13's edit is
    # refused; comment 7 goes to seeded post 3.
    SAMPLES = [
        create_post(1, 11),
        create_post(2, 12),
        create_post(3, 13),
        edit(4, 11, "Edited A"),
        comment(5, 6, post_id=12),
        comment(6, 7, post_id=3),
        edit(7, 11, "Edited B", method="PATCH"),
        delete(8, 12),
        edit(9, 13, "Edited C", status=400),
        sample(10, 5),  # a read: not part of the audit
    ]
    BEFORE = {"posts": 10, "comments": 5}
    AFTER = {"posts": 12, "comments": 6}
    HELD = stats.Held(posts={11: "Edited B", 13: "Load test post"}, comments={7: 3}, orphans=0)

    def audit(self, samples=SAMPLES, after=AFTER, **held):
        return stats.audit_writes(
            samples, before=self.BEFORE, after=after, held=self.HELD._replace(**held)
        )

    def test_every_answer_matches_the_rows_held(self):
        audit = self.audit()

        assert audit == {
            "posts": {
                "201s": 3,
                "200s": 2,
                "204s": 1,
                "gained": 2,
                "lost": [],
                "back": [],
                "stale": [],
                "unexplained": 0,
            },
            "comments": {
                "201s": 2,
                "gone_with_post": 1,
                "gained": 1,
                "lost": [],
                "orphans": 0,
                "unexplained": 0,
            },
            "5xx": 0,
            "ok": True,
        }
        assert stats.audit_problems(audit) == []
        assert (
            stats.breaches({"paginated": {"endpoints": {}, "fail_ratio": 0, "writes": audit}}) == []
        )

    @pytest.mark.parametrize(
        "change, problem",
        [
            pytest.param(
                {"posts": {13: "Load test post"}, "after": {"posts": 11, "comments": 6}},
                "posts answered 201 but missing: 11",
                id="a lost write",
            ),
            pytest.param(
                {
                    "posts": {11: "Edited B", 12: "Load test post", 13: "Load test post"},
                    "after": {"posts": 13, "comments": 6},
                },
                "posts deleted with a 204 but back: 12",
                id="a resurrected delete",
            ),
            pytest.param(
                {"comments": {6: 12, 7: 3}, "orphans": 1, "after": {"posts": 12, "comments": 7}},
                "comments whose post is missing: 1",
                id="an orphan comment",
            ),
            pytest.param(
                {"posts": {11: "Edited A", 13: "Load test post"}},
                "posts not holding their last edit answered 200: 11",
                id="an edit answered 200 then lost",
            ),
            pytest.param(
                {"posts": {11: "Edited B", 13: "Edited C"}},
                "posts not holding their last edit answered 200: 13",
                id="a refused edit that changed the row",
            ),
            pytest.param(
                {"comments": {}, "after": {"posts": 12, "comments": 5}},
                "comments answered 201 but missing: 7",
                id="a lost comment",
            ),
            pytest.param(
                {"after": {"posts": 13, "comments": 6}},
                "posts: the table gained 3 rows, the 201s account for 2",
                id="a row no 201 accounts for",
            ),
            pytest.param(
                {"samples": [*SAMPLES, comment(11, None, post_id=4, status=500)]},
                "5xx responses: 1",
                id="a 5xx",
            ),
        ],
    )
    def test_each_mismatch_fails_the_audit_and_is_a_breach(self, change, problem):
        audit = self.audit(**change)
        found = stats.breaches({"cursor": {"endpoints": {}, "fail_ratio": 0.0, "writes": audit}})

        assert audit["ok"] is False
        assert stats.audit_problems(audit) == [problem]
        assert found == [f"cursor: writes audit failed: {problem}"]

    def test_a_write_that_got_no_answer_leaves_its_post_unchecked(self):
        """With no response the delete may or may not have happened: neither is a loss."""
        samples = [*self.SAMPLES, delete(11, 11, status=0)]

        for posts in ({11: "Edited B", 13: "Load test post"}, {13: "Load test post"}):
            after = {"posts": 10 + len(posts), "comments": 6}
            assert self.audit(samples, after=after, posts=posts)["ok"] is True

    def test_the_audit_appears_in_the_per_stage_table(self):
        good, bad = self.audit(), self.audit(posts={13: "Load test post"})
        stages = {
            name: {**stats.summarize([sample(0, 5)]), "writes": writes}
            for name, writes in (("paginated", good), ("cursor", bad))
        }

        table = report.stage_table(stages)

        assert "| 3 / 2 / 1 | 2 (1) | nothing lost |" in table
        assert "| NO: posts answered 201 but missing: 11; posts: the table gained 2 rows" in table


class TestSamplesFile:
    def test_a_line_from_before_the_trailing_fields_still_reads(self, tmp_path):
        (tmp_path / "samples-1.jsonl").write_text('[1.5, 20.0, "GET /api/posts/", 200, false, 3]\n')

        (read,) = samples.load(tmp_path)

        assert read == Sample(1.5, 20.0, "GET /api/posts/", 200, False, 3)
        assert (read.id, read.post, read.wrote, read.cache) == (None, None, None, None)

    def test_trailing_fields_round_trip_and_are_left_out_when_null(self, tmp_path):
        written = [
            Sample(1.0, 5.0, CREATE_COMMENT, 201, False, 4, id=8, post=3),
            Sample(2.0, 1.0, "GET /api/posts/", 200, False, 0, cache="hit"),
            Sample(3.0, 9.0, "GET /api/posts/", 200, False, 2),
        ]
        (tmp_path / "samples-1.jsonl").write_text("".join(s.line() for s in written))

        assert samples.load(tmp_path) == written
        assert (tmp_path / "samples-1.jsonl").read_text().splitlines()[2] == (
            '[3.0, 9.0, "GET /api/posts/", 200, false, 2]'
        )

    def test_a_response_gives_its_queries_cache_outcome_and_created_id(self):
        class Response:
            status_code = 201
            headers = {"Server-Timing": 'db;dur=1.2;desc="4 queries", cache;dur=0.3;desc="miss"'}

            def json(self):
                return {"id": 42, "title": "t"}

        assert samples.measured(Response(), {"post": 7}) == {
            "queries": 4,
            "id": 42,
            "post": 7,
            "wrote": None,
            "cache": "miss",
        }


class TestCacheHitRatio:
    def test_hits_over_hits_and_misses_with_errors_apart(self):
        outcomes = ["hit"] * 6 + ["miss"] * 2 + ["error"]
        recorded = [
            Sample(i, 5, "GET /api/posts/", 200, False, 0, cache=c) for i, c in enumerate(outcomes)
        ]

        summary = stats.summarize(recorded)

        expected = {"hits": 6, "misses": 2, "errors": 1, "hit_ratio": 0.75}
        assert summary["cache"] == expected
        assert summary["endpoints"]["GET /api/posts/"]["cache"] == expected

    def test_a_stage_without_the_metric_has_none_and_shows_a_dash(self):
        cached = [Sample(0, 5, "GET /api/posts/", 200, False, 0, cache="hit")]
        stages = {
            "cursor": stats.summarize([sample(0, 5)]),
            "cached": stats.summarize(cached),
        }
        stages["cursor"]["writes"] = stages["cached"]["writes"] = None

        comparison, per_stage = report.comparison_table(stages), report.stage_table(stages)

        assert stages["cursor"]["cache"] is None
        lines = comparison.splitlines()
        assert lines[0].split(" | ")[-3] == "cache hits"
        assert lines[2].startswith("| GET /api/posts/ | cursor |")
        assert lines[2].endswith("| 2.0 | – | – | – |")
        assert lines[3].startswith("| GET /api/posts/ | cached |")
        assert lines[3].endswith("| 0.0 | 100 % | – | – |")
        assert "| 0 | – | – | – | – |" in per_stage  # cursor: no cache, no audit
        assert "| 0 | 100 % |" in per_stage

    def test_errors_are_shown_apart(self):
        assert report.cache_hits({"hits": 3, "misses": 1, "errors": 2, "hit_ratio": 0.75}) == (
            "75 %, 2 errors"
        )
        assert report.cache_hits({"hits": 0, "misses": 0, "errors": 2, "hit_ratio": None}) == (
            "–, 2 errors"
        )


class TestWording:
    """A change from the stage before reads the way it went, never "0.0× lower"."""

    @pytest.mark.parametrize(
        "ratio, words",
        [
            (100.0, "100× lower"),
            (455.2, "455× lower"),
            (3.44, "3.4× lower"),
            (9.96, "10× lower"),
            (1.25, "1.3× lower"),
            (1.02, "same"),
            (0.98, "same"),
            (0.8, "1.3× higher"),
            (1 / 63.2, "63× higher"),
            (0.004, "250× higher"),
            (None, "–"),
        ],
    )
    def test_p95_in_both_directions(self, ratio, words):
        assert report.times(ratio, above_one="lower", below_one="higher") == words

    def test_slower_stages_read_higher_and_lower_throughput_reads_lower(self):
        stages = {
            "select_related": {
                "endpoints": {"GET /api/posts/": {"p95_ms": 10.0, "rps": 50.0}},
                "fail_ratio": 0.0,
            },
            "paginated": {
                "endpoints": {"GET /api/posts/": {"p95_ms": 632.0, "rps": 20.0}},
                "fail_ratio": 0.0,
            },
        }
        stats.add_ratios(stages)
        for figures in (stages[name]["endpoints"]["GET /api/posts/"] for name in stages):
            figures.update(requests=1, failures=0, p50_ms=1.0, p99_ms=1.0, queries_per_request=1)

        comparison = report.comparison_table(stages)
        endpoint = report.endpoint_table(stages, "GET /api/posts/")

        assert comparison.splitlines()[-1].endswith("| 63× higher | 2.5× lower |")
        assert endpoint.splitlines()[-1].endswith("| 63× higher |")
        assert "× lower | 2.5" not in comparison and "0.0×" not in comparison


class TestChart:
    def report(self):
        stages = {
            "naive": stats.summarize(
                [sample(0, 300, LOGIN), sample(1, 9000, "GET /api/comments/")]
            ),
            "paginated": stats.summarize(
                [sample(0, 300, LOGIN), sample(1, 9), sample(2, 7, "GET /api/comments/")]
            ),
        }
        return {
            "stages": stages,
            "profile": {"name": "smoke"},
            "dataset": {"posts": 10},
            "environment": {"database": "SQLite"},
        }

    def test_a_missing_bar_is_labelled(self):
        """naive has no GET /api/posts/ figures: its slot says so, and only that one."""
        import matplotlib.pyplot as plt

        figure = report.chart(self.report())
        latency = figure.axes[0]
        labels = [(text.get_text(), text.get_position()[0]) for text in latency.texts]
        plt.close(figure)

        names = [tick.get_text() for tick in latency.get_xticklabels()]
        assert names == ["GET /api/comments/", "GET /api/posts/", LOGIN]
        # naive is the first of two bars in each endpoint's group, at x = group index.
        assert labels == [(report.NO_BAR, names.index("GET /api/posts/"))]

    def test_stages_with_no_figures_at_all_still_get_a_chart(self, tmp_path):
        """No request finished anywhere (every one during the logins): no log scale
        to draw, but a chart all the same."""
        data = self.report()
        data["stages"] = {"naive": stats.summarize([]), "paginated": stats.summarize([])}

        report.write_chart(tmp_path / "chart.png", data)

        assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")

    def test_the_legend_is_outside_the_plots(self):
        import matplotlib.pyplot as plt

        figure = report.chart(self.report())
        figure.canvas.draw()
        legend = figure.legends[0].get_window_extent()
        plots = [axes.get_window_extent() for axes in figure.axes]
        plt.close(figure)

        assert all(not legend.overlaps(plot) for plot in plots)
