"""The replay report's requests on the idle server (cold and warm), and its accounts."""

import json

from loadtest import report
from tests.test_docs import load_sync


def figures(ms, db_ms=0.3, queries=2, size=2048):
    return {"ms": ms, "db_ms": db_ms, "queries": queries, "bytes": size}


def stage(probes, workers=2):
    return {"single_requests": probes, "warm_up": {"workers": workers, "per_worker": 1}}


class TestSingleRequestTable:
    def test_each_endpoint_has_its_cold_and_warm_time_and_sql(self):
        stages = {
            "paginated": stage(
                {
                    "GET /api/posts/": {
                        "path": "/api/posts/",
                        "cold": figures(167.0, db_ms=4.1),
                        "warm": {**figures(6.5, db_ms=0.4), "requests": 5},
                    }
                }
            )
        }

        table = report.single_request_table(stages)

        assert table.splitlines()[0] == (
            "| stage | endpoint | cold ms | cold SQL ms | warm ms | warm SQL ms | queries | size |"
        )
        assert "| paginated | GET /api/posts/ | 167.0 | 4.1 | 6.5 | 0.4 | 2 | 2.0 KB |" in table

    def test_queries_or_sizes_that_differ_are_both_shown(self):
        probe = {
            "path": "/api/posts/",
            "cold": figures(20.0, queries=3, size=1024),
            "warm": {**figures(5.0, queries=2, size=1024), "requests": 5},
        }

        table = report.single_request_table({"cursor": stage({"GET /api/posts/": probe})})

        assert "| 3 cold, 2 warm | 1.0 KB |" in table

    def test_a_report_made_before_the_warm_up_keeps_its_one_request_table(self):
        stages = {"naive": {"single_requests": {"GET /api/posts/": figures(1051.0)}}}

        table = report.single_request_table(stages)

        assert table.splitlines()[0] == (
            "| stage | endpoint | response ms | SQL ms | queries | size |"
        )
        assert "| naive | GET /api/posts/ | 1,051.0 | 0.3 | 2 | 2.0 KB |" in table


class TestNotes:
    def test_the_note_says_which_figure_is_which_and_how_it_was_warmed(self):
        probes = {"GET /api/posts/": {"cold": figures(9), "warm": {**figures(5), "requests": 5}}}

        note = " ".join(report.single_request_note({"cursor": stage(probes, workers=3)}).split())

        assert "**Cold** is the first request for the endpoint" in note
        assert "**Warm** is the median of 5 more" in note
        assert "each of the server's 3 workers had answered the endpoint once" in note

    def test_no_warm_figures_no_note(self):
        assert report.single_request_note({"naive": {"endpoints": {}}}) == ""

    def test_the_accounts_sentence_says_how_many_were_added_to_each_copy(self):
        accounts = {"users": 50, "needed": 50, "seeded": 20, "added": 30}

        assert report.accounts_sentence(accounts) == (
            "Each of the 50 users logged in as an account of its own: the 20 seeded, "
            "and 30 added to each stage's copy."
        )

    def test_the_accounts_sentence_when_the_seeded_ones_were_enough(self):
        accounts = {"users": 10, "needed": 10, "seeded": 20, "added": 0}

        assert report.accounts_sentence(accounts) == (
            "Each of the 10 users logged in as an account of its own, of the 20 seeded."
        )


def test_the_docs_show_the_table_and_say_which_figure_is_which(tmp_path, monkeypatch):
    sync = load_sync()
    monkeypatch.setattr(sync, "BASE_DIR", tmp_path)
    probes = {"GET /api/posts/": {"cold": figures(9), "warm": {**figures(5), "requests": 5}}}
    stages = {"cursor": stage(probes)}
    (tmp_path / "made").mkdir()
    (tmp_path / "made" / "report.json").write_text(json.dumps({"stages": stages}))

    block = sync.single("made")

    assert block.startswith(report.single_request_table(stages))
    assert block.endswith(report.single_request_note(stages) + "\n")
