"""The API under gunicorn on 127.0.0.1, as `make serve` runs it: concurrent writers."""

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from loadtest.server import serve
from stages import EXPECTED_QUERIES
from tests.helpers import reported_queries

WRITES = 120


def call(method, url, data=None, token=None):
    """Send one JSON request; return (status, parsed body)."""
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(data).encode() if data is not None else None,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def test_concurrent_writes_all_succeed_and_all_land(live_database_url):
    """Two workers of four threads each, sixteen clients writing at once: no
    "database is locked" on SQLite, no lost write anywhere."""
    env = {"DATABASE_URL": live_database_url}
    with serve("paginated", env=env, workers=2, threads=4) as url:
        tokens = [
            call("POST", f"{url}/api/auth/token/", {"username": name, "password": "password123"})[
                1
            ]["token"]
            for name in ("user1", "user2")
        ]
        post_id = call("GET", f"{url}/api/posts/")[1]["results"][0]["id"]
        before = call("GET", f"{url}/api/health/")[1]

        def write(i):
            token = tokens[i % 2]
            if i % 2:
                return call("POST", f"{url}/api/posts/", {"title": f"t{i}", "body": "b"}, token)
            return call("POST", f"{url}/api/posts/{post_id}/comments/", {"body": f"c{i}"}, token)

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = [status for status, _ in pool.map(write, range(WRITES))]
        after = call("GET", f"{url}/api/health/")[1]

    assert statuses == [201] * WRITES
    assert after["posts"] - before["posts"] == WRITES // 2
    assert after["comments"] - before["comments"] == WRITES // 2
    assert after["stage"] == "paginated"


def test_writes_report_the_query_tables_count(live_database_url):
    """Under gunicorn a write's transaction is a real one, not a test's SAVEPOINT; on
    SQLite it starts with a BEGIN IMMEDIATE sent like a query. Server-Timing still counts
    only the queries, so each write reports the table's figure on either database."""
    stage = "paginated"
    with serve(stage, env={"DATABASE_URL": live_database_url}, workers=1) as url:
        credentials = {"username": "user1", "password": "password123"}
        token = call("POST", f"{url}/api/auth/token/", credentials)[1]["token"]
        post = call("POST", f"{url}/api/posts/", {"title": "t", "body": "b"}, token)[1]["id"]
        comment = call("POST", f"{url}/api/posts/{post}/comments/", {"body": "c"}, token)[1]["id"]
        writes = {
            "POST /api/posts/": {"title": "t", "body": "b"},
            "POST /api/posts/{id}/comments/": {"body": "c"},
            "PUT /api/posts/{id}/": {"title": "t2", "body": "b2"},
            "PATCH /api/comments/{id}/": {"body": "c2"},
            "DELETE /api/posts/{id}/": None,
        }
        reported = {}
        for endpoint, data in writes.items():
            method, path = endpoint.split()
            request = urllib.request.Request(
                url + path.format(id=comment if "comments/{id}" in path else post),
                method=method,
                data=json.dumps(data).encode() if data else None,
                headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                reported[endpoint] = reported_queries(response.headers)

    assert reported == {endpoint: EXPECTED_QUERIES[endpoint][stage].fixed for endpoint in writes}
