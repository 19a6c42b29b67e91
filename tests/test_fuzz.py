"""The OpenAPI schema, and fuzzing driven by it: schemathesis sends what /api/schema/
allows, and what it does not, to a live gunicorn, and checks that every answer is one the
schema describes.

For each operation it generates requests that follow the schema (positive) and requests
that break it (negative: a missing field, a string for an id), all signed as `user1`, so
that writes go through too. A response fails the test if it is a 5xx, or if its status
code, content type or body is not what the schema says for that operation.

Each stage serves its own schema, and what differs between stages is the lists (an array,
or a page with its query parameters). So the lists are fuzzed at every stage, and the
rest, which is the same code everywhere, once, at FULL_STAGE.

The seed is fixed, so that a failure reproduces. To explore further:
`FUZZ_SEED=7 FUZZ_EXAMPLES=200 .venv/bin/pytest tests/test_fuzz.py`.
"""

import json
import os
import urllib.request

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from blog.models import Comment
from loadtest.server import serve
from stages import STAGES, stage_views

# Requests per operation and mode: enough to hit the boundaries schemathesis aims for
# (empty, longest, one past the longest, wrong types) while a run stays near 20 s.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# Each sign-in hashes a password (~0.3 s, by design): a few show that any credentials
# that are not an account's are a 400.
FEWER_EXAMPLES = {"POST /api/auth/token/": 3}
SEED = int(os.environ.get("FUZZ_SEED", "20250101"))
FULL_STAGE = "paginated"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
LISTS = {"GET /api/posts/", "GET /api/comments/", "GET /api/posts/{post_pk}/comments/"}
# Revoking user1's token would sign out every request after it.
NOT_FUZZED = {"DELETE /api/auth/token/"}


def sign_in(url, username="user1", password="password123"):
    request = urllib.request.Request(
        f"{url}/api/auth/token/",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["token"]


def modes(operation):
    """Negative cases need something to break: a parameter or a body."""
    breakable = operation.path_parameters or operation.query or operation.body
    yield GenerationMode.POSITIVE
    if len(breakable):
        yield GenerationMode.NEGATIVE


def fuzz(operation, mode, headers):
    """Send up to MAX_EXAMPLES generated requests to one operation; fail on a bad answer."""

    @seed(SEED)
    @settings(
        max_examples=min(MAX_EXAMPLES, FEWER_EXAMPLES.get(operation.label, MAX_EXAMPLES)),
        deadline=None,
        database=None,  # no .hypothesis/ directory in the repository
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case):
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

    send()


class TestFuzzing:
    def test_every_operation_answers_as_the_schema_says(self, live_database_url, subtests):
        """One database, each stage served in turn from it; a subtest per operation."""
        fuzzed = set()

        for stage in STAGES:
            # One process is enough for one client, and starts and stops sooner.
            with serve(stage, env={"DATABASE_URL": live_database_url}, workers=1) as url:
                schema = schemathesis.openapi.from_url(f"{url}/api/schema/")
                headers = {"Authorization": f"Token {sign_in(url)}"}
                for result in schema.get_all_operations():
                    operation = result.ok()
                    if operation.label in NOT_FUZZED:
                        continue
                    if stage != FULL_STAGE and operation.label not in LISTS:
                        continue
                    for mode in modes(operation):
                        with subtests.test(stage=stage, operation=operation.label, mode=mode):
                            fuzz(operation, mode, headers)
                    fuzzed.add(operation.label)

        # All 16 operations of the README's table but the one left out on purpose.
        assert len(fuzzed) == 15


class TestSchema:
    def test_it_is_generated_without_a_warning_at_every_stage(self, stage, tmp_path):
        """--fail-on-warn: anything drf-spectacular has to guess (a view without a
        serializer, a path parameter without a type) stops the command."""
        schema_file = tmp_path / "schema.yaml"

        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema_file))

        assert schema_file.read_text().startswith("openapi: 3.")

    def test_the_nested_comments_view_has_a_queryset_without_a_post(self, stage):
        """drf-spectacular builds views without a request: no post to filter by."""
        view = stage_views(stage).PostCommentList(swagger_fake_view=True)

        assert view.get_queryset().model is Comment

    def test_it_is_served_with_token_authentication(self, api_client):
        response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

        assert response.status_code == 200
        schema = response.json()
        assert schema["components"]["securitySchemes"]["tokenAuth"] == {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token-based authentication with required prefix "Token"',
        }
        assert schema["paths"]["/api/auth/token/"]["post"]["security"] == [{}]

    @pytest.mark.parametrize(
        "stage_name, page_parameters, list_404",
        [("naive", [], False), ("paginated", ["page", "page_size"], True)],
    )
    def test_a_list_is_documented_as_the_stage_serves_it(
        self, api_client, at_stage, stage_name, page_parameters, list_404
    ):
        at_stage(stage_name)

        schema = api_client.get("/api/schema/?format=json").json()

        posts = schema["paths"]["/api/posts/"]["get"]
        assert [p["name"] for p in posts.get("parameters", [])] == page_parameters
        assert ("404" in posts["responses"]) is list_404

    @pytest.mark.parametrize(
        "path, method, codes",
        [
            ("/api/posts/", "get", "200 401"),
            ("/api/posts/", "post", "201 400 401 403"),
            ("/api/posts/{id}/", "patch", "200 400 401 403 404"),
            ("/api/comments/{id}/", "delete", "204 401 403 404"),
            ("/api/posts/{post_pk}/comments/", "post", "201 400 401 403 404"),
            ("/api/auth/token/", "post", "200 400 401 403"),
            ("/api/auth/token/", "delete", "204 401 403"),
            ("/api/health/", "get", "200"),
        ],
    )
    def test_each_operation_lists_the_answers_it_can_give(self, api_client, path, method, codes):
        schema = api_client.get("/api/schema/?format=json").json()

        assert set(schema["paths"][path][method]["responses"]) == set(codes.split())

    def test_swagger_ui_is_served_from_this_server(self, client):
        page = client.get("/api/docs/")
        script = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")

        assert page.status_code == 200
        assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in page.content
        assert b"/api/schema/" in page.content
        assert script.status_code == 200
