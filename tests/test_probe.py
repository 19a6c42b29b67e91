"""The idle server's cost of one request, cold and warm, against gunicorn on 127.0.0.1:
every worker answers each path before the warm figures are taken."""

import uuid
from collections import Counter

import pytest

from loadtest import databases, probe
from loadtest.server import ServerError, running
from stages import EXPECTED_QUERIES

PATHS = {
    "GET /api/posts/": "/api/posts/",
    "GET /api/posts/{id}/": "/api/posts/30/",
    "GET /api/comments/": "/api/comments/",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The `paginated` stage with two workers, on 30 posts and 30 comments; the tests
    only read, so they share it."""
    folder = tmp_path_factory.mktemp("probe")
    server = databases.project_server()
    name = f"probe_{uuid.uuid4().hex[:12]}"
    with databases.empty(name, server=server, folder=folder) as url:
        databases.populate(url, users=3, posts=30, comments=30, timeout=120)
        with running("paginated", env={"DATABASE_URL": url}, workers=2) as served:
            yield served


class TestWorkers:
    def test_the_worker_that_answered_is_found_and_every_worker_answers_in_time(self, server):
        workers = probe.worker_pids(server.pid)
        holders = []
        for _ in range(20):
            _, connection = probe._fetch_keeping_open(server.url, "/api/health/")
            holders.append(probe.worker_holding(connection, workers))
            connection.close()

        assert len(workers) == 2
        assert set(holders) == workers  # never None, and both took connections

    def test_warming_up_has_every_worker_answer_every_path(self, server, monkeypatch):
        answers = []
        find = probe.worker_holding
        fetch = probe._fetch_keeping_open

        def fetch_and_note(base_url, path):
            answers.append([path])
            return fetch(base_url, path)

        def holding_and_note(connection, workers):
            answers[-1].append(found := find(connection, workers))
            return found

        monkeypatch.setattr(probe, "_fetch_keeping_open", fetch_and_note)
        monkeypatch.setattr(probe, "worker_holding", holding_and_note)

        record = probe.warm_up(server.url, list(PATHS.values()), server_pid=server.pid)

        answered = Counter((worker, path) for path, worker in answers)
        workers = probe.worker_pids(server.pid)
        assert record == {"workers": 2, "per_worker": 1, "requests": len(answers)}
        assert all(answered[w, p] >= 1 for w in workers for p in PATHS.values())

    def test_a_worker_that_never_answers_is_an_error_that_names_it(self, server, monkeypatch):
        real = probe.worker_pids(server.pid)
        monkeypatch.setattr(probe, "worker_pids", lambda pid: real | {999_999_999})
        monkeypatch.setattr(probe, "WARM_UP_LIMIT", 2)

        with pytest.raises(ServerError, match=r"\[999999999\] answered GET /api/posts/ fewer"):
            probe.warm_up(server.url, ["/api/posts/"], server_pid=server.pid)


class TestSingleRequests:
    def test_each_path_has_its_cold_and_its_warm_figures(self, server):
        figures, warm_up = probe.single_requests(server.url, PATHS, server_pid=server.pid)

        assert list(figures) == list(PATHS)
        assert warm_up["workers"] == 2
        for name, path in PATHS.items():
            cold, warm = figures[name]["cold"], figures[name]["warm"]
            queries = EXPECTED_QUERIES[name]["paginated"].fixed
            assert figures[name]["path"] == path
            assert cold["queries"] == warm["queries"] == queries
            assert cold["bytes"] == warm["bytes"] > 0
            assert cold["ms"] > 0 and warm["ms"] > 0
            assert cold["db_ms"] >= 0 and warm["db_ms"] >= 0
            assert warm["requests"] == probe.WARM_REQUESTS

    def test_a_path_that_is_not_a_200_is_an_error(self, server):
        with pytest.raises(ServerError, match=r"GET /api/posts/999/ answered 404, not 200"):
            probe.single_requests(
                server.url, {"GET /api/posts/{id}/": "/api/posts/999/"}, server_pid=server.pid
            )
