"""The `cached` stage: pages in Redis, invalidated by versions that writes bump on commit.

The tests use the real Redis at REDIS_URL (127.0.0.1:6379 by default), each under a key
prefix of its own (conftest.py). Inside a test the database transaction never commits,
so a write's versions are bumped where the test says so: in
`django_capture_on_commit_callbacks(execute=True)`, as a commit would.
"""

import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import transaction
from model_bakery import baker

from blog.models import Comment, Post
from loadtest.server import serve
from stages import AUTH_QUERIES, EXPECTED_QUERIES, STAGES, cached, unavailable
from stages import values as values_stage
from tests.helpers import SERVER_TIMING_DB, reported_queries, results

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_SIZES = [3, 25]
CACHE_METRIC = re.compile(r'cache;dur=(\d+\.\d);desc="(hit|miss|error)"')
# A port nothing listens on: Redis "down".
NO_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def cached_stage(at_stage):
    at_stage("cached")


def versions(*scopes):
    """The current versions of `scopes` (and of "start"), as a read sees them."""
    return cached.page_and_versions("page:none", scopes)[1]


def cache_status(response):
    """hit, miss or error, from Server-Timing; None if the response has no cache metric."""
    match = CACHE_METRIC.search(response.get("Server-Timing", ""))
    return match.group(2) if match else None


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a write as if its transaction committed: its on_commit callbacks run."""

    def run(request, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            response = request(*args, **kwargs)
        assert response.status_code < 300, response.content
        return response

    return run


class TestQueryCounts:
    """The table's cached cells, "hit or miss", at two data sizes."""

    READS = [endpoint for endpoint in EXPECTED_QUERIES if endpoint.startswith("GET")]

    @pytest.fixture
    def path_for(self, make_posts, make_comments):
        def arrange(endpoint, rows):
            post = make_posts(rows)[0]
            comment = make_comments(rows, post=post)[0]
            make_comments(rows)
            return endpoint.split(" ")[1].format(
                id=comment.id if "comments/{" in endpoint else post.id
            )

        return arrange

    @pytest.mark.parametrize("rows", DATA_SIZES)
    @pytest.mark.parametrize("endpoint", [e for e in READS if e != "GET /api/health/"])
    def test_a_miss_costs_the_values_stage_and_a_hit_the_table_s_hit(
        self, api_client, path_for, django_assert_num_queries, endpoint, rows
    ):
        path = path_for(endpoint, rows)
        expected = EXPECTED_QUERIES[endpoint]["cached"]
        assert expected.for_rows(rows) == EXPECTED_QUERIES[endpoint]["values"].for_rows(rows)

        with django_assert_num_queries(expected.for_rows(rows)):
            miss = api_client.get(path)
        with django_assert_num_queries(expected.hit):
            hit = api_client.get(path)

        assert (miss.status_code, cache_status(miss)) == (200, "miss")
        assert (hit.status_code, cache_status(hit)) == (200, "hit")
        assert reported_queries(hit) == expected.hit
        assert hit.content == miss.content

    def test_a_token_adds_its_lookup_to_a_hit(
        self, author_client, make_posts, django_assert_num_queries
    ):
        make_posts(3)
        author_client.get("/api/posts/")

        with django_assert_num_queries(EXPECTED_QUERIES["GET /api/posts/"]["cached"].hit + 1):
            response = author_client.get("/api/posts/")

        assert cache_status(response) == "hit"
        assert AUTH_QUERIES == 1

    def test_health_is_not_cached(self, api_client, make_posts):
        make_posts(3)
        api_client.get("/api/health/")

        response = api_client.get("/api/health/")

        assert cache_status(response) is None
        assert reported_queries(response) == 4

    def test_only_the_cached_stage_has_hit_figures(self):
        with_hits = {
            s for costs in EXPECTED_QUERIES.values() for s, q in costs.items() if q.hit is not None
        }

        assert with_hits == {"cached"}
        assert str(EXPECTED_QUERIES["GET /api/posts/"]["cached"]) == "0 or 1"


class TestWhatIsCached:
    def test_server_timing_says_hit_or_miss_after_the_sql_figures(self, api_client, post):
        miss = api_client.get("/api/posts/")
        hit = api_client.get("/api/posts/")

        for response, status in ((miss, "miss"), (hit, "hit")):
            header = response["Server-Timing"]
            assert SERVER_TIMING_DB.match(header), header
            assert re.search(r', cache;dur=\d+\.\d;desc="' + status + '"$', header), header

    def test_a_hit_has_the_headers_of_a_miss(self, api_client, post):
        miss = api_client.get(f"/api/posts/{post.id}/")
        hit = api_client.get(f"/api/posts/{post.id}/")

        assert {k: v for k, v in hit.items() if k != "Server-Timing"} == {
            k: v for k, v in miss.items() if k != "Server-Timing"
        }

    @pytest.mark.parametrize(
        "extra",
        [{"HTTP_ACCEPT": "text/html"}, {"HTTP_ACCEPT": "application/json; indent=4"}],
        ids=["browsable API", "indented JSON"],
    )
    def test_other_renderings_are_read_from_the_database(self, api_client, post, extra):
        api_client.get("/api/posts/")  # the JSON page is cached ...

        response = api_client.get("/api/posts/", **extra)  # ... and not served for these

        assert response.status_code == 200
        assert cache_status(response) is None
        assert reported_queries(response) >= 1

    def test_each_url_is_its_own_page(self, api_client, make_posts):
        make_posts(5)
        api_client.get("/api/posts/", {"page_size": 2})

        response = api_client.get("/api/posts/", {"page_size": 3})

        assert cache_status(response) == "miss"
        assert len(results(response)) == 3

    def test_an_error_is_not_cached(self, api_client):
        first = api_client.get("/api/posts/424242/")
        second = api_client.get("/api/posts/424242/")

        assert first.status_code == second.status_code == 404
        assert cache_status(second) == "miss"

    def test_a_bad_token_is_a_401_even_when_the_page_is_cached(self, api_client, post):
        api_client.get("/api/posts/")
        api_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

        response = api_client.get("/api/posts/")

        assert response.status_code == 401
        assert cache_status(response) is None

    def test_writes_report_no_cache_metric(self, author_client, commit):
        response = commit(
            author_client.post, "/api/posts/", {"title": "T", "body": "B"}, format="json"
        )

        assert cache_status(response) is None


class TestConditionalGet:
    def test_a_matching_if_none_match_is_a_304_without_a_body(self, api_client, post):
        etag = api_client.get("/api/posts/")["ETag"]

        response = api_client.get("/api/posts/", HTTP_IF_NONE_MATCH=etag)

        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == etag
        assert reported_queries(response) == 0

    def test_an_old_etag_gets_the_new_page(self, api_client, author_client, post, commit):
        old = api_client.get("/api/posts/")["ETag"]
        commit(author_client.post, "/api/posts/", {"title": "New", "body": "B"}, format="json")

        response = api_client.get("/api/posts/", HTTP_IF_NONE_MATCH=old)

        assert response.status_code == 200
        assert results(response)[0]["title"] == "New"
        assert response["ETag"] != old

    def test_a_miss_answers_a_matching_etag_with_a_304_too(self, api_client, post, settings):
        etag = api_client.get(f"/api/posts/{post.id}/")["ETag"]
        settings.CACHES = {  # an empty cache, as after a restart
            alias: {**config, "KEY_PREFIX": config["KEY_PREFIX"] + "-restarted"}
            for alias, config in settings.CACHES.items()
        }

        response = api_client.get(f"/api/posts/{post.id}/", HTTP_IF_NONE_MATCH=etag)

        assert (response.status_code, cache_status(response)) == (304, "miss")

    def test_the_etag_is_the_content_s(self, api_client, post):
        """Equal pages, equal ETags: a client revalidates against any worker."""
        first = api_client.get(f"/api/posts/{post.id}/")["ETag"]

        again = api_client.get(f"/api/posts/{post.id}/?unused=1")["ETag"]

        assert first == again


class TestWritesInvalidate:
    """Every write changes what it changed, on the next read: never a stale page."""

    def test_a_new_post_tops_the_list_at_once(self, api_client, author_client, make_posts, commit):
        make_posts(3)
        api_client.get("/api/posts/")

        created = commit(
            author_client.post, "/api/posts/", {"title": "New", "body": "B"}, format="json"
        )

        response = api_client.get("/api/posts/")
        assert results(response)[0]["id"] == created.json()["id"]
        assert cache_status(response) == "miss"

    def test_a_new_comment_shows_on_its_post_s_page_and_in_all_comments(
        self, api_client, author_client, post, commit
    ):
        pages = [f"/api/posts/{post.id}/comments/", "/api/comments/"]
        for page in pages:
            api_client.get(page)

        created = commit(author_client.post, pages[0], {"body": "First!"}, format="json")

        for page in pages:
            assert results(api_client.get(page))[0]["id"] == created.json()["id"]

    @pytest.mark.parametrize("method", ["put", "patch"])
    def test_an_edited_post_shows_everywhere_its_title_does(
        self, api_client, author_client, post, comment, commit, method
    ):
        pages = [
            f"/api/posts/{post.id}/",
            "/api/posts/",
            f"/api/posts/{post.id}/comments/",
            "/api/comments/",
            f"/api/comments/{comment.id}/",
        ]
        for page in pages:
            api_client.get(page)

        send = getattr(author_client, method)
        commit(send, f"/api/posts/{post.id}/", {"title": "Edited", "body": "B"}, format="json")

        titles = [
            api_client.get(pages[0]).json()["title"],
            results(api_client.get(pages[1]))[0]["title"],
            results(api_client.get(pages[2]))[0]["post"]["title"],
            results(api_client.get(pages[3]))[0]["post"]["title"],
            api_client.get(pages[4]).json()["post"]["title"],
        ]
        assert titles == ["Edited"] * 5

    def test_a_deleted_post_is_gone_everywhere(
        self, api_client, author_client, post, comment, commit
    ):
        pages = [
            f"/api/posts/{post.id}/",
            f"/api/posts/{post.id}/comments/",
            f"/api/comments/{comment.id}/",
        ]
        for page in [*pages, "/api/posts/", "/api/comments/"]:
            api_client.get(page)

        commit(author_client.delete, f"/api/posts/{post.id}/")

        assert [api_client.get(page).status_code for page in pages] == [404] * 3
        assert results(api_client.get("/api/posts/")) == []
        assert results(api_client.get("/api/comments/")) == []

    def test_an_edited_comment_shows_everywhere(
        self, api_client, author_client, post, comment, commit
    ):
        pages = [
            f"/api/comments/{comment.id}/",
            "/api/comments/",
            f"/api/posts/{post.id}/comments/",
        ]
        for page in pages:
            api_client.get(page)

        commit(author_client.patch, pages[0], {"body": "Edited"}, format="json")

        assert api_client.get(pages[0]).json()["body"] == "Edited"
        assert [results(api_client.get(page))[0]["body"] for page in pages[1:]] == ["Edited"] * 2

    def test_a_deleted_comment_is_gone_everywhere(
        self, api_client, author_client, post, comment, commit
    ):
        pages = [
            f"/api/comments/{comment.id}/",
            "/api/comments/",
            f"/api/posts/{post.id}/comments/",
        ]
        for page in pages:
            api_client.get(page)

        commit(author_client.delete, pages[0])

        assert api_client.get(pages[0]).status_code == 404
        assert [results(api_client.get(page)) for page in pages[1:]] == [[], []]

    def test_a_write_leaves_the_pages_it_did_not_change_cached(
        self, api_client, author_client, make_posts, commit
    ):
        one, other = make_posts(2)
        comment = baker.make(Comment, post=other)
        unchanged = [f"/api/posts/{other.id}/", f"/api/posts/{other.id}/comments/"]
        for page in unchanged:
            api_client.get(page)

        commit(author_client.post, f"/api/posts/{one.id}/comments/", {"body": "Hi"}, format="json")
        commit(author_client.post, "/api/posts/", {"title": "T", "body": "B"}, format="json")

        assert [cache_status(api_client.get(page)) for page in unchanged] == ["hit", "hit"]
        assert cache_status(api_client.get(f"/api/comments/{comment.id}/")) == "miss"

    def test_versions_change_when_the_write_commits_not_before(
        self, api_client, author_client, post, django_capture_on_commit_callbacks
    ):
        """Until the write commits, other readers cannot see it in the database either:
        they keep the old page. The versions change with the commit."""
        api_client.get("/api/posts/")

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            author_client.post("/api/posts/", {"title": "New", "body": "B"}, format="json")
            before_commit = api_client.get("/api/posts/")
        for callback in callbacks:
            callback()
        after_commit = api_client.get("/api/posts/")

        assert cache_status(before_commit) == "hit"
        assert cache_status(after_commit) == "miss"
        assert results(after_commit)[0]["title"] == "New"

    def test_a_write_that_rolls_back_changes_no_version(self, post):
        before = versions("posts")

        with pytest.raises(RuntimeError), transaction.atomic():
            cached.changed("posts")
            raise RuntimeError("the write fails after its change")

        assert versions("posts") == before

    def test_a_page_read_before_a_write_is_never_served_after_it(
        self, api_client, post, user, monkeypatch, django_capture_on_commit_callbacks
    ):
        """The race: a reader has read the versions and the database, then a write
        commits and bumps, then the reader stores its page. The next reader must not
        get that page."""
        read_rows = values_stage.RowReads.list

        def read_then_a_write_commits(view, request, *args, **kwargs):
            response = read_rows(view, request, *args, **kwargs)  # the old rows
            with django_capture_on_commit_callbacks(execute=True):
                Post.objects.create(user=user, title="Meanwhile", body="B")
                cached.changed("posts")
            return response

        monkeypatch.setattr(values_stage.RowReads, "list", read_then_a_write_commits)
        racing = api_client.get("/api/posts/")
        monkeypatch.undo()

        after = api_client.get("/api/posts/")

        assert [row["title"] for row in results(racing)] == ["First post"]
        assert cache_status(after) == "miss"
        assert [row["title"] for row in results(after)] == ["Meanwhile", "First post"]

    def test_a_missing_version_starts_anew_not_from_an_old_value(self, post):
        """Random versions: if Redis loses a version, its pages are not current again."""
        first = versions("posts")
        cached.cache.delete("version:posts")

        assert versions("posts") != first

    def test_a_new_server_process_retires_the_pages_of_earlier_ones(
        self, api_client, post, monkeypatch
    ):
        """Data may have changed while no process of this stage ran (at another stage,
        or re-seeded): a process starts by giving "start" a new version."""
        api_client.get("/api/posts/")
        assert cache_status(api_client.get("/api/posts/")) == "hit"

        monkeypatch.setattr(cached, "_started", False)  # as in a new process

        assert cache_status(api_client.get("/api/posts/")) == "miss"
        assert cache_status(api_client.get("/api/posts/")) == "hit"


class TestWithoutRedis:
    @pytest.fixture
    def redis_down(self, settings):
        settings.CACHES = {
            alias: {**config, "LOCATION": NO_REDIS} for alias, config in settings.CACHES.items()
        }

    def test_reads_come_from_the_database(self, api_client, at_stage, make_posts, redis_down):
        make_posts(3)
        at_stage("values")
        expected = api_client.get("/api/posts/").content
        at_stage("cached")

        responses = [api_client.get("/api/posts/") for _ in range(2)]

        assert [r.content for r in responses] == [expected, expected]
        assert [cache_status(r) for r in responses] == ["error", "error"]

    def test_a_write_still_succeeds(self, author_client, redis_down, commit):
        response = commit(
            author_client.post, "/api/posts/", {"title": "T", "body": "B"}, format="json"
        )

        assert response.status_code == 201
        assert Post.objects.count() == 1

    @pytest.mark.parametrize(
        "command",
        [["manage.py", "check"], ["-m", "gunicorn", "project.wsgi", "--bind", "127.0.0.1:0"]],
        ids=["manage.py", "gunicorn"],
    )
    @pytest.mark.parametrize("redis_url", [NO_REDIS, "not-a-redis-url"])
    def test_the_stage_stops_at_start_with_one_line(self, command, redis_url):
        env = {**os.environ, "STAGE": "cached", "REDIS_URL": redis_url}

        result = subprocess.run(
            [sys.executable, *command],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        message = [line for line in result.stderr.splitlines() if "needs Redis" in line]
        assert len(message) == 1
        assert f"Stage 'cached' needs Redis at {redis_url}" in message[0]
        assert "Start it (redis-server) or set REDIS_URL." in message[0]


class TestUnavailable:
    """What the replay asks before it serves a stage: can it run here?"""

    @pytest.mark.parametrize("name", [s for s in STAGES if s != "cached"])
    def test_only_the_cached_stage_needs_anything_but_the_database(self, name, monkeypatch):
        monkeypatch.setenv("REDIS_URL", NO_REDIS)

        assert unavailable(name) is None

    def test_the_cached_stage_can_run_where_redis_answers(self):
        assert unavailable("cached") is None

    def test_without_redis_it_says_why_in_one_line(self, monkeypatch):
        monkeypatch.setenv("REDIS_URL", NO_REDIS)

        reason = unavailable("cached")

        assert reason.startswith(f"Stage 'cached' needs Redis at {NO_REDIS} (")
        assert "\n" not in reason

    def test_an_unknown_stage_is_refused(self):
        with pytest.raises(SystemExit, match="Unknown STAGE 'fastest'"):
            unavailable("fastest")


def settings_of(database_url):
    """The CACHES a new process computes for `database_url`."""
    code = "import json; from project import settings; print(json.dumps(settings.CACHES))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url, "STAGE": "naive"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


class TestKeys:
    def test_every_server_of_a_database_shares_its_keys_and_only_those(self, tmp_path):
        one = settings_of(f"sqlite:///{tmp_path / 'one.sqlite3'}")
        again = settings_of(f"sqlite:///{tmp_path / 'one.sqlite3'}")
        other = settings_of(f"sqlite:///{tmp_path / 'other.sqlite3'}")

        assert one["default"]["KEY_PREFIX"] == again["default"]["KEY_PREFIX"]
        assert one["default"]["KEY_PREFIX"] != other["default"]["KEY_PREFIX"]


def call(method, url, data=None, token=None):
    """One JSON request on a new connection; (status, parsed body or None, headers)."""
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
            body = response.read()
            return response.status, json.loads(body) if body else None, response.headers
    except urllib.error.HTTPError as error:
        return error.code, None, error.headers


def listing(row_id, on=True):
    """A check: the page lists (or, with on=False, does not list) the row `row_id`."""
    return lambda status, body: (
        status == 200 and (row_id in [r["id"] for r in body["results"]]) == on
    )


def titled(title, key=None):
    """A check: the post (or the post a comment embeds, key="post") has `title`."""
    return lambda status, body: status == 200 and (body[key] if key else body)["title"] == title


def gone(status, body):
    return status == 404


class TestLive:
    """gunicorn, 2 workers: a write through one worker is seen by reads through any."""

    WRITERS = 4
    ROUNDS = 3
    READS = 3  # of each page after each write, each on a new connection: either worker

    def test_every_read_after_a_write_shows_it_even_under_concurrent_writes(
        self, live_database_url
    ):
        stale, statuses = [], []
        lock = threading.Lock()

        with serve("cached", env={"DATABASE_URL": live_database_url}, workers=2, threads=2) as url:
            tokens = [
                call(
                    "POST",
                    f"{url}/api/auth/token/",
                    {"username": f"user{i}", "password": "password123"},
                )[1]["token"]
                for i in (1, 2, 3)
            ]

            def write(token, method, path, data=None):
                status, body, _ = call(method, f"{url}{path}", data, token)
                assert status in (200, 201, 204), (method, path, status)
                return body

            def reads(what, *checks):
                """Read each page READS times; a read that fails its check is stale."""
                for path, check in checks:
                    for _ in range(self.READS):
                        status, body, headers = call("GET", f"{url}{path}")
                        with lock:
                            statuses.append(cache_status(headers))
                            if not check(status, body):
                                stale.append((what, path, status))

            def journey(n):
                """Create a post, comment on it, edit it, delete it; after each write,
                read every page it changed (they were read, so cached, before it)."""
                token = tokens[n % len(tokens)]
                posts, comments = "/api/posts/?page_size=100", "/api/comments/?page_size=100"
                for i in range(self.ROUNDS):
                    pid = write(token, "POST", "/api/posts/", {"title": f"{n}.{i}", "body": "B"})[
                        "id"
                    ]
                    post, its_comments = f"/api/posts/{pid}/", f"/api/posts/{pid}/comments/"
                    reads("create post", (posts, listing(pid)), (post, titled(f"{n}.{i}")))
                    cid = write(token, "POST", its_comments, {"body": "c"})["id"]
                    comment = f"/api/comments/{cid}/"
                    reads(
                        "comment",
                        (its_comments, listing(cid)),
                        (comments, listing(cid)),
                        (comment, titled(f"{n}.{i}", "post")),
                    )
                    write(token, "PATCH", post, {"title": f"edited {n}.{i}"})
                    reads(
                        "edit post",
                        (post, titled(f"edited {n}.{i}")),
                        (comment, titled(f"edited {n}.{i}", "post")),
                        (posts, listing(pid)),
                        (comments, listing(cid)),
                    )
                    write(token, "DELETE", post)
                    reads(
                        "delete post",
                        (post, gone),
                        (comment, gone),
                        (posts, listing(pid, on=False)),
                        (comments, listing(cid, on=False)),
                    )

            # One writer alone first: then a new post tops the list, and nothing else
            # changes a page between a write and its reads.
            alone = write(tokens[0], "POST", "/api/posts/", {"title": "alone", "body": "B"})
            reads(
                "new post on top",
                ("/api/posts/", lambda status, body: body["results"][0]["id"] == alone["id"]),
            )
            journey(0)
            with ThreadPoolExecutor(max_workers=self.WRITERS) as pool:
                list(pool.map(journey, range(self.WRITERS)))

        assert stale == []
        # The cache was in use: repeated reads of an unchanged page were hits.
        assert statuses.count("hit") > len(statuses) // 4
        assert set(statuses) == {"hit", "miss"}


class TestSchema:
    def test_reads_document_if_none_match_its_304_and_the_etag(self, api_client):
        schema = api_client.get("/api/schema/?format=json").json()

        for path in (
            "/api/posts/",
            "/api/posts/{id}/",
            "/api/comments/",
            "/api/posts/{post_pk}/comments/",
        ):
            read = schema["paths"][path]["get"]
            assert "If-None-Match" in [p["name"] for p in read["parameters"]]
            assert "304" in read["responses"]
            assert "ETag" in read["responses"]["200"]["headers"]
        post = schema["paths"]["/api/posts/"]["post"]
        assert "304" not in post["responses"]
        assert "If-None-Match" not in [p["name"] for p in post.get("parameters", [])]

    def test_the_stage_before_documents_no_304(self, api_client, at_stage):
        at_stage("values")

        schema = api_client.get("/api/schema/?format=json").json()

        assert "304" not in schema["paths"]["/api/posts/"]["get"]["responses"]
