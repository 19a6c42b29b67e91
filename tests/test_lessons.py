"""Claims the walkthrough makes about the ORM and DRF, proven here (the docs include these)."""

import pytest
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.test import APIRequestFactory

from blog.models import Post
from stages import select_related

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
