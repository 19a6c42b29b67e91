"""Claims the walkthrough makes about the ORM, DRF and Locust, proven here (the docs
include these)."""

import ast
import subprocess

import pytest
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from blog.models import Post
from loadtest import locust_process
from loadtest.server import serve
from stages import EXPECTED_QUERIES, STAGES, select_related, stage_views
from tests.conftest import BASE_DIR, manage
from tests.helpers import reported_queries

pytestmark = pytest.mark.django_db


class TestPrefetchRelated:
    """select_related joins forward foreign keys; reverse relations need prefetch_related."""

    def test_reading_each_posts_comments_is_an_n_plus_1(
        self, make_posts, make_comments, django_assert_num_queries
    ):
        for post in make_posts(5):
            make_comments(2, post=post)

        with django_assert_num_queries(1 + 5):  # the posts, then each post's comments
            counts = [len(post.comments.all()) for post in Post.objects.all()]

        assert counts == [2] * 5

    def test_prefetch_related_reads_them_all_in_a_second_query(
        self, make_posts, make_comments, django_assert_num_queries
    ):
        for post in make_posts(5):
            make_comments(2, post=post)

        with django_assert_num_queries(2):  # the posts, then WHERE post_id IN (...)
            counts = [
                len(post.comments.all()) for post in Post.objects.prefetch_related("comments")
            ]

        assert counts == [2] * 5


class LimitOffset(LimitOffsetPagination):
    """?limit=N&offset=M, 20 rows unless asked otherwise."""

    default_limit = 20


class LimitOffsetPostList(select_related.PostViewSet):
    """The classic mistake: limit/offset pagination, while clients send ?page=N."""

    pagination_class = LimitOffset


class TestPaginationMistake:
    def test_limit_offset_pagination_silently_ignores_page(self, make_posts):
        make_posts(50)
        view = LimitOffsetPostList.as_view({"get": "list"})
        factory = APIRequestFactory()

        first = view(factory.get("/api/posts/", {"page": 1})).data
        second = view(factory.get("/api/posts/", {"page": 2})).data

        assert second["results"] == first["results"]  # "page 2" is page 1 again
        assert "offset=20" in first["next"]  # the parameter it does understand


class TestSerializerModels:
    """A serializer's `Meta.model` is the model it writes, and nothing checks that it is
    the model its view serves: this does, for every view at every stage."""

    @pytest.mark.parametrize("view_name", ["PostViewSet", "CommentViewSet", "PostCommentList"])
    @pytest.mark.parametrize("stage_name", STAGES)
    def test_each_serializer_is_for_the_model_its_view_serves(self, stage_name, view_name, post):
        view = getattr(stage_views(stage_name), view_name)(format_kwarg=None, action="list")
        view.request, view.kwargs = Request(APIRequestFactory().get("/")), {"post_pk": post.pk}
        view.parent_post = post  # what PostCommentList.initial() looks up for each request
        serializer = view.get_serializer()

        model = view.get_queryset().model
        assert serializer.Meta.model is model
        for nested in serializer.fields.values():
            if isinstance(nested, serializers.ModelSerializer):
                assert nested.Meta.model is model._meta.get_field(nested.source).related_model

    def test_the_wrong_model_reads_a_comment_but_cannot_save_one(self, comment, user, post):
        """The mistake this guards against: it passes every test that only reads."""

        class CommentSerializer(serializers.ModelSerializer):
            class Meta:
                model = Post  # wrong: the view serves comments
                fields = ["id", "body", "created_at"]

        assert CommentSerializer(comment).data["body"] == comment.body
        writer = CommentSerializer(data={"body": "A new comment"})
        assert writer.is_valid()
        with pytest.raises(TypeError, match="unexpected keyword arguments: 'post'"):
            writer.save(user=user, post=post)


class TestAnEmptyPage:
    """Why a list's measured queries/request can fall below the table's figure: with page
    numbers, a COUNT(*) of 0 leaves an empty page, and Django runs no query for an empty
    slice. A cursor page has no count, so its one query always runs."""

    LISTS = ["GET /api/posts/", "GET /api/comments/", "GET /api/posts/{id}/comments/"]

    def empty_list(self, endpoint, post):
        """The path of `endpoint` with no rows to list: no posts and no comments, but the
        post whose comments are asked for."""
        path = endpoint.split()[1].format(id=post.pk)
        if path == endpoint.split()[1]:
            post.delete()
        return path

    @pytest.mark.parametrize("endpoint", LISTS)
    def test_at_paginated_an_empty_list_costs_one_query_less_than_the_table(
        self, api_client, post, at_stage, endpoint, django_assert_num_queries
    ):
        at_stage("paginated")
        path = self.empty_list(endpoint, post)
        expected = EXPECTED_QUERIES[endpoint]["paginated"].for_rows(0) - 1

        with django_assert_num_queries(expected):
            response = api_client.get(path)

        assert response.json()["count"] == 0
        assert reported_queries(response) == expected

    @pytest.mark.parametrize("endpoint", LISTS)
    def test_at_cursor_an_empty_list_costs_what_the_table_says(
        self, api_client, post, at_stage, endpoint, django_assert_num_queries
    ):
        at_stage("cursor")
        path = self.empty_list(endpoint, post)
        expected = EXPECTED_QUERIES[endpoint]["cursor"].for_rows(0)

        with django_assert_num_queries(expected):
            response = api_client.get(path)

        assert response.json()["results"] == []
        assert reported_queries(response) == expected


class TestThinkTime:
    """Think time belongs in `wait_time`, where `--think-time-scale` scales it and a
    graceful stop ends it at once. A `time.sleep()` in a task is neither: Locust counts
    the user as busy, so `--stop-timeout` waits for the sleep to end."""

    def test_no_task_in_the_locustfile_sleeps(self):
        tree = ast.parse((BASE_DIR / "locustfile.py").read_text())

        sleeps = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "sleep"
        ]

        assert sleeps == []


class TestAccountPerUser:
    """Each virtual user logs in as an account of its own, as real users do: one shared
    account would put every user's requests behind one token and one set of rows."""

    def test_each_virtual_user_logs_in_as_its_own_account(self, live_database_url):
        """The live data has 3 seeded accounts; 3 users make 3 tokens, one per account."""
        with serve("paginated", env={"DATABASE_URL": live_database_url}) as url:
            subprocess.run(
                locust_process.command(
                    host=url, users=3, run_time=3, options={"--think-time-scale": 0.05}
                ),
                cwd=BASE_DIR,
                capture_output=True,
                timeout=60,
            )

        tokens = manage(
            "shell",
            "-v0",
            "-c",
            "from rest_framework.authtoken.models import Token; "
            "print(*sorted(Token.objects.values_list('user__username', flat=True)))",
            database_url=live_database_url,
        )
        assert tokens.stdout.split() == ["user1", "user2", "user3"]
