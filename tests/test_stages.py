"""The stages: what each one costs in queries, what it answers, and how it is chosen."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from model_bakery import baker

from blog.models import Comment, Post
from project.middleware import is_query
from stages import AUTH_QUERIES, EXPECTED_QUERIES, STAGES, stage_views
from tests.helpers import SERVER_TIMING_DB, reported_queries, results

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
# Two sizes, the larger above a page: a count that holds at both does not grow with N.
DATA_SIZES = [3, 25]
PAGE_SIZE = 20


@pytest.fixture
def arrange(make_posts, make_comments, api_client, author_client, user):
    """Set up `rows` rows for an endpoint of the query table; return the request to make.
    A list lists `rows` rows; a post that is edited or deleted has `rows` comments."""

    def arrange_for(endpoint, rows):
        method, path = endpoint.split(" ")
        client = api_client if method == "GET" else author_client
        data = None
        if path.startswith("/api/posts/{id}/comments/"):
            post = make_posts(1)[0]
            make_comments(rows, post=post)
            path = path.format(id=post.id)
            data = {"body": "A new comment"}
        elif path.startswith("/api/posts/"):
            posts = make_posts(rows)
            if method != "GET":
                # The signed-in author's own post, with comments for a delete to cascade to.
                posts[0] = baker.make(Post, user=user)
                make_comments(rows, post=posts[0])
            path = path.format(id=posts[0].id)
            data = {"title": "A new post", "body": "Its body"}
        else:
            comments = make_comments(rows)
            if method != "GET":
                comments[0] = baker.make(Comment, user=user, post=make_posts(1)[0])
            path = path.format(id=comments[0].id)
            data = {"body": "A new body"}
        send = getattr(client, method.lower())
        if method in ("POST", "PUT", "PATCH"):
            return lambda: send(path, data, format="json")
        return lambda: send(path)

    return arrange_for


class TestQueryCounts:
    @pytest.mark.parametrize("rows", DATA_SIZES)
    @pytest.mark.parametrize("endpoint", list(EXPECTED_QUERIES))
    def test_each_endpoint_costs_what_the_table_says(
        self, endpoint, rows, stage, arrange, assert_num_queries
    ):
        request = arrange(endpoint, rows)
        expected = EXPECTED_QUERIES[endpoint][stage].for_rows(rows)

        with assert_num_queries(expected):
            response = request()

        assert response.status_code in (200, 201, 204)
        assert reported_queries(response) == expected

    def test_a_token_adds_its_lookup_to_a_read(
        self, author_client, make_posts, stage, assert_num_queries
    ):
        make_posts(3)
        expected = EXPECTED_QUERIES["GET /api/posts/"][stage].for_rows(3) + AUTH_QUERIES

        with assert_num_queries(expected):
            response = author_client.get("/api/posts/")

        assert response.status_code == 200

    @pytest.mark.parametrize(
        "sql",
        [
            "BEGIN",
            "BEGIN IMMEDIATE",
            'SAVEPOINT "s140_x1"',
            'RELEASE SAVEPOINT "s140_x1"',
            'ROLLBACK TO SAVEPOINT "s140_x1"',
            "COMMIT",
            "ROLLBACK",
        ],
    )
    def test_transaction_control_is_not_a_query(self, sql):
        assert not is_query(sql)

    @pytest.mark.parametrize(
        "sql",
        [
            'SELECT "blog_post"."id" FROM "blog_post" FOR UPDATE',
            'INSERT INTO "blog_comment" ("body") VALUES (%s)',
            'UPDATE "blog_post" SET "title" = %s',
            'DELETE FROM "blog_comment" WHERE "blog_comment"."post_id" IN (%s)',
            'SELECT COUNT(*) AS "__count" FROM "blog_post"',
        ],
    )
    def test_statements_that_read_or_write_rows_are(self, sql):
        assert is_query(sql)

    def test_every_stage_has_a_figure_for_every_endpoint(self):
        assert all(set(costs) == set(STAGES) for costs in EXPECTED_QUERIES.values())

    @pytest.mark.parametrize("name", STAGES)
    def test_each_stage_docstring_states_its_list_costs(self, name):
        """The docstring a reader sees agrees with the table the tests assert."""
        doc = stage_views(name).__doc__
        for endpoint in ("GET /api/posts/", "GET /api/comments/"):
            assert f"{EXPECTED_QUERIES[endpoint][name]} quer" in doc


class TestSameAnswers:
    @pytest.mark.parametrize(
        "path",
        [
            "/api/posts/",
            "/api/comments/",
            "/api/posts/{post}/comments/",
            "/api/posts/{post}/",
            "/api/comments/{comment}/",
        ],
    )
    def test_select_related_answers_exactly_as_naive(
        self, api_client, post, make_posts, make_comments, at_stage, path
    ):
        make_posts(4)
        comments = make_comments(3) + make_comments(2, post=post)
        url = path.format(post=post.id, comment=comments[0].id)

        at_stage("naive")
        naive = api_client.get(url)
        at_stage("select_related")
        joined = api_client.get(url)

        assert naive.status_code == joined.status_code == 200
        assert joined.content == naive.content


class TestPagination:
    @pytest.fixture(autouse=True)
    def paginated(self, at_stage):
        at_stage("paginated")

    def test_a_list_is_a_page_with_count_and_links(self, api_client, make_posts):
        make_posts(PAGE_SIZE + 5)

        response = api_client.get("/api/posts/")

        assert response.status_code == 200
        data = response.json()
        assert set(data) == {"count", "next", "previous", "results"}
        assert data["count"] == PAGE_SIZE + 5
        assert len(data["results"]) == PAGE_SIZE
        assert data["next"] == "http://testserver/api/posts/?page=2"
        assert data["previous"] is None

    def test_the_next_page_continues_where_the_first_stopped(self, api_client, make_posts):
        made = make_posts(PAGE_SIZE + 5)
        first = api_client.get("/api/posts/").json()

        second = api_client.get(first["next"]).json()

        ids = [row["id"] for row in first["results"] + second["results"]]
        assert ids == sorted((p.id for p in made), reverse=True)
        assert second["next"] is None
        assert second["previous"] == "http://testserver/api/posts/"

    @pytest.mark.parametrize(
        "page_size, expected",
        [("5", 5), ("100", 100), ("1000", 100)],
        ids=["smaller", "the cap", "above the cap"],
    )
    def test_page_size_is_honoured_up_to_the_cap(
        self, api_client, make_comments, page_size, expected
    ):
        make_comments(101)

        response = api_client.get("/api/comments/", {"page_size": page_size})

        assert response.status_code == 200
        assert len(response.json()["results"]) == expected

    @pytest.mark.parametrize("page", ["3", "0", "-1", "abc", "1.5"])
    def test_a_page_that_does_not_exist_is_a_404_with_a_message(self, api_client, make_posts, page):
        make_posts(PAGE_SIZE + 5)

        response = api_client.get("/api/posts/", {"page": page})

        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid page."}

    def test_last_is_the_last_page(self, api_client, make_posts):
        make_posts(PAGE_SIZE + 5)

        response = api_client.get("/api/posts/", {"page": "last"})

        assert response.status_code == 200
        assert len(response.json()["results"]) == 5

    def test_a_posts_comments_are_paginated_too(self, api_client, post, make_comments):
        make_comments(PAGE_SIZE + 1, post=post)

        response = api_client.get(f"/api/posts/{post.id}/comments/")

        assert response.json()["count"] == PAGE_SIZE + 1
        assert len(results(response)) == PAGE_SIZE

    def test_details_are_not_paginated(self, api_client, post):
        response = api_client.get(f"/api/posts/{post.id}/")

        assert response.json()["id"] == post.id


class TestResponseHeaders:
    @pytest.mark.parametrize(
        "path, status",
        [
            ("/api/posts/", 200),
            ("/api/posts/424242/", 404),
            ("/api/nowhere/", 404),
            ("/api/health/", 200),
        ],
    )
    def test_every_response_names_its_stage_and_its_sql_cost(self, api_client, stage, path, status):
        response = api_client.get(path)

        assert response.status_code == status
        assert response["X-Stage"] == stage
        assert SERVER_TIMING_DB.match(response["Server-Timing"])

    def test_errors_carry_the_headers_too(self, api_client, post, stage):
        response = api_client.delete(f"/api/posts/{post.id}/")

        assert response.status_code == 401
        assert response["X-Stage"] == stage
        assert reported_queries(response) == 0

    def test_an_unknown_api_url_is_a_json_404(self, api_client):
        response = api_client.get("/api/nowhere/")

        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


class TestHealth:
    def test_health_reports_the_stage_and_the_data(self, api_client, make_comments, stage):
        make_comments(2)  # two comments on two posts, by two users (plus the posts' authors)

        response = api_client.get("/api/health/")

        assert response.status_code == 200
        data = response.json()
        assert data["status"] == "ok"
        assert data["stage"] == stage
        assert (data["posts"], data["comments"]) == (2, 2)
        assert data["users"] == 4
        assert data["post_ids"] == sorted(Post.objects.values_list("id", flat=True))

    def test_health_counts_the_seeded_users_apart(self, api_client, django_user_model):
        for name in ("user1", "user2", "user10", "alice", "user2b"):
            django_user_model.objects.create_user(name)

        data = api_client.get("/api/health/").json()

        assert (data["users"], data["seeded_users"]) == (5, 3)

    def test_no_posts_no_id_range(self, api_client):
        data = api_client.get("/api/health/").json()

        assert (data["posts"], data["post_ids"]) == (0, None)

    def test_a_bad_token_does_not_fail_the_health_check(self, api_client):
        api_client.credentials(HTTP_AUTHORIZATION="Token stale")

        assert api_client.get("/api/health/").status_code == 200


def run_with_stage(stage, *args, timeout=60):
    env = {**os.environ, "STAGE": stage}
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class TestChoosingAStage:
    def test_an_unknown_stage_stops_manage_py_with_the_valid_names(self):
        result = run_with_stage("fastest", "manage.py", "check")

        assert result.returncode != 0
        assert "Unknown STAGE 'fastest'" in result.stderr
        assert "naive, select_related, paginated" in result.stderr
        assert "Traceback" not in result.stderr

    def test_an_unknown_stage_stops_the_server(self):
        result = run_with_stage(
            "fastest", "-m", "gunicorn", "project.wsgi", "--bind", "127.0.0.1:0"
        )

        assert result.returncode != 0
        assert "Valid stages: naive, select_related, paginated" in result.stderr

    def test_a_known_stage_passes_the_checks(self):
        result = run_with_stage("paginated", "manage.py", "check")

        assert result.returncode == 0, result.stderr
