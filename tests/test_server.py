"""The API under gunicorn on 127.0.0.1, as `make serve` runs it: concurrent writers on SQLite."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from loadtest.server import serve

BASE_DIR = Path(__file__).resolve().parent.parent
WRITES = 120


@pytest.fixture
def sqlite_url(tmp_path):
    """A migrated, lightly seeded SQLite file of its own: the live server must not share
    the test database, whose rows live in a transaction that is never committed."""
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url}
    for command in (
        ["migrate", "-v0"],
        ["seed_posts", "--users", "2", "--posts", "5", "--comments", "5", "-v0"],
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=BASE_DIR, env=env, check=True, timeout=120
        )
    return url


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


def test_concurrent_writes_on_sqlite_all_succeed_and_all_land(sqlite_url):
    """Two workers of four threads each, sixteen clients writing at once: no
    "database is locked", no lost write."""
    with serve("paginated", env={"DATABASE_URL": sqlite_url}, workers=2, threads=4) as url:
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
