"""Server-Timing read back: `parse` reads what ServerTimingMiddleware writes, and more."""

import pytest

from project.middleware import parse


class TestParse:
    def test_it_reads_what_the_middleware_wrote(self, api_client, at_stage, post):
        at_stage("paginated")

        timing = parse(api_client.get("/api/posts/")["Server-Timing"])

        assert timing.queries == 2  # COUNT(*), then the page
        assert timing.db_ms is not None and timing.db_ms >= 0

    def test_other_metrics_are_kept_by_name(self):
        timing = parse('cache;desc="hit, fresh", db;dur=12.5;desc="3 queries", total;dur=20')

        assert (timing.db_ms, timing.queries) == (12.5, 3)
        assert timing.metrics["cache"] == {"desc": "hit, fresh"}
        assert timing.metrics["total"] == {"dur": "20"}

    @pytest.mark.parametrize("header", [None, "", "total;dur=20", 'db;desc="many queries"'])
    def test_no_db_metric_no_figures(self, header):
        timing = parse(header)

        assert (timing.db_ms, timing.queries) == (None, None)
