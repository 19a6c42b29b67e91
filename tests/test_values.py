"""The `values` stage: reads from plain rows, rendered by orjson, the same JSON as `cursor`.

Query counts are asserted at every stage by the table test in test_stages.py; the tests
here hold the stage to its promise: every read answers exactly what `cursor` answers,
byte for byte, and writes still go through DRF's serializers.
"""

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from model_bakery import baker
from rest_framework import renderers
from rest_framework.utils.serializer_helpers import ReturnDict

from blog.models import Comment, Post
from stages.values import JSONRenderer

pytestmark = pytest.mark.django_db

# Two sizes, the larger above a page (20 rows), as in test_stages.py.
DATA_SIZES = [3, 25]
# What JSON encoders disagree on: U+2028/U+2029 (DRF escapes them), control characters,
# quotes, characters beyond ASCII and beyond the BMP, and markup.
AWKWARD = 'a "line"\u2028a paragraph\u2029 a tab\t a bell\x07 </script> é 😀 \\'
# The stages that must answer reads as `cursor` does.
SAME_AS_CURSOR = ["values", "cached"]


@pytest.fixture
def data(make_posts, make_comments, user):
    """`rows` posts, `rows` comments on the first of them and `rows` elsewhere, and one
    post and comment with AWKWARD text, the newest of all; the paths to read."""

    def make(rows):
        posts = make_posts(rows)
        make_comments(rows, post=posts[0])
        make_comments(rows)
        awkward = baker.make(Post, user=user, title=AWKWARD, body=AWKWARD)
        comment = baker.make(Comment, post=awkward, user=user, body=AWKWARD)
        return {
            "posts list": "/api/posts/",
            "post detail": f"/api/posts/{awkward.id}/",
            "comments list": "/api/comments/",
            "comment detail": f"/api/comments/{comment.id}/",
            "a post's comments": f"/api/posts/{posts[0].id}/comments/",
            "an awkward post's comments": f"/api/posts/{awkward.id}/comments/",
        }

    return make


def answer(client, path, **extra):
    """What a client sees of a response: status, content type and the exact bytes."""
    response = client.get(path, **extra)
    return response.status_code, response.get("Content-Type"), response.content


class TestSameJSONAsCursor:
    @pytest.mark.parametrize("stage_name", SAME_AS_CURSOR)
    @pytest.mark.parametrize("rows", DATA_SIZES)
    def test_every_read_endpoint_answers_the_same_bytes(
        self, api_client, at_stage, data, rows, stage_name
    ):
        paths = data(rows)
        at_stage("cursor")
        expected = {name: answer(api_client, path) for name, path in paths.items()}

        at_stage(stage_name)
        # Twice: at the cached stage, the first is a miss and the second a hit.
        for _ in range(2):
            got = {name: answer(api_client, path) for name, path in paths.items()}

            assert got == expected
        assert all(status == 200 for status, _, _ in got.values())

    @pytest.mark.parametrize("stage_name", SAME_AS_CURSOR)
    @pytest.mark.parametrize("rows", DATA_SIZES)
    def test_the_next_and_previous_pages_are_the_same(
        self, api_client, at_stage, data, rows, stage_name
    ):
        data(rows)
        at_stage("cursor")
        first = api_client.get("/api/comments/", {"page_size": 3}).json()
        second = api_client.get(first["next"]).json()
        links = [first["next"], second["next"], second["previous"]]
        expected = [answer(api_client, link) for link in links]

        at_stage(stage_name)

        assert [answer(api_client, link) for link in links] == expected

    @pytest.mark.parametrize("stage_name", SAME_AS_CURSOR)
    @pytest.mark.parametrize(
        "path, extra",
        [
            ("/api/posts.json", {}),
            ("/api/posts/{post}.json", {}),
            ("/api/comments/", {"HTTP_ACCEPT": "application/json; indent=4"}),
            ("/api/posts/?format=json", {}),
            ("/api/posts/?page_size=100", {}),
            ("/api/posts/424242/", {}),
            ("/api/comments/424242/", {}),
            ("/api/posts/424242/comments/", {}),
            ("/api/posts/?cursor=not-a-cursor", {}),
        ],
        ids=[
            "format suffix",
            "detail format suffix",
            "indented",
            "format parameter",
            "page size",
            "missing post",
            "missing comment",
            "comments of a missing post",
            "bad cursor",
        ],
    )
    def test_other_ways_to_ask_are_answered_the_same(
        self, api_client, at_stage, data, stage_name, path, extra
    ):
        data(3)
        path = path.format(post=Post.objects.order_by("-id").first().id)
        at_stage("cursor")
        expected = answer(api_client, path, **extra)

        at_stage(stage_name)

        assert answer(api_client, path, **extra) == expected

    @pytest.mark.parametrize("stage_name", SAME_AS_CURSOR)
    def test_dates_follow_the_current_time_zone_as_drf_does(
        self, api_client, at_stage, data, settings, stage_name
    ):
        """DRF's DateTimeField writes a date in the current time zone; so do the rows."""
        settings.TIME_ZONE = "Asia/Kolkata"
        paths = data(3)
        at_stage("cursor")
        expected = answer(api_client, paths["posts list"])

        at_stage(stage_name)

        assert answer(api_client, paths["posts list"]) == expected
        assert b'+05:30"' in expected[2]

    def test_the_browsable_api_still_renders_the_lists(self, api_client, at_stage, data):
        data(3)
        at_stage("values")

        response = api_client.get("/api/posts/", HTTP_ACCEPT="text/html")

        assert response.status_code == 200
        assert b"Post List" in response.content


class TestWritesKeepTheSerializers:
    @pytest.fixture(autouse=True)
    def values_stage(self, at_stage):
        at_stage("values")

    def test_a_new_post_is_answered_as_its_detail_reads(self, author_client, api_client):
        created = author_client.post("/api/posts/", {"title": "T", "body": AWKWARD}, format="json")

        assert created.status_code == 201
        assert created.content == api_client.get(f"/api/posts/{created.json()['id']}/").content

    def test_an_invalid_post_is_a_400_naming_the_field(self, author_client):
        response = author_client.post("/api/posts/", {"title": "", "body": "B"}, format="json")

        assert response.status_code == 400
        assert set(response.json()) == {"title"}
        assert not Post.objects.exists()

    def test_an_edit_is_answered_as_the_detail_reads(self, author_client, api_client, post):
        edited = author_client.patch(f"/api/posts/{post.id}/", {"title": "New"}, format="json")

        assert edited.status_code == 200
        assert edited.content == api_client.get(f"/api/posts/{post.id}/").content


NOON = datetime.datetime(2026, 1, 2, 12, 0, 0, tzinfo=datetime.UTC)


class TestRenderer:
    @pytest.mark.parametrize(
        "data",
        [
            {"text": AWKWARD},
            {"at": NOON},
            {"at": NOON.replace(microsecond=123456)},
            {"at": NOON.astimezone(zoneinfo.ZoneInfo("Asia/Kolkata"))},
            {"at": NOON.replace(tzinfo=None)},
            {"at": NOON.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))},
            {"day": NOON.date()},
            {"lazy": gettext_lazy("Not found.")},
            {"amount": Decimal("1.50")},
            ReturnDict({"nested": [{"a": 1}, None, True, 2**63 - 1]}, serializer=None),
            {"big": 2**70},
            [],
        ],
        ids=[
            "awkward text",
            "UTC date",
            "microseconds",
            "offset",
            "naive",
            "zoneinfo UTC",
            "date",
            "lazy translation",
            "decimal",
            "DRF's dict",
            "int beyond 64 bits",
            "empty list",
        ],
    )
    def test_it_writes_what_drfs_renderer_writes(self, data):
        assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)

    @pytest.mark.parametrize("media_type", ["application/json; indent=4", "application/json"])
    def test_indented_json_is_drfs_too(self, media_type):
        data = {"a": [1, {"b": AWKWARD}]}
        context = {"indent": 2}

        ours = JSONRenderer().render(data, media_type, context)

        assert ours == renderers.JSONRenderer().render(data, media_type, context)
        assert b"\n" in ours

    def test_no_data_is_no_body(self):
        assert JSONRenderer().render(None) == b""
