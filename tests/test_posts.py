"""/api/posts/ and /api/posts/{id}/: who may do what, and what they get back."""

import pytest
from rest_framework.test import APIClient

from blog.models import BODY_MAX_LENGTH, TITLE_MAX_LENGTH, Comment, Post
from tests.helpers import results

pytestmark = pytest.mark.django_db

POSTS_URL = "/api/posts/"


def detail_url(post_id):
    return f"/api/posts/{post_id}/"


class TestCreatePost:
    def test_anonymous_is_a_401_and_nothing_is_written(self, api_client):
        response = api_client.post(POSTS_URL, {"title": "T", "body": "B"}, format="json")

        assert response.status_code == 401
        assert not Post.objects.exists()

    def test_a_session_without_csrf_token_is_a_403(self, user):
        """The browsable API's session login is not a way around CSRF protection."""
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(user)

        response = client.post(POSTS_URL, {"title": "T", "body": "B"}, format="json")

        assert response.status_code == 403
        assert "CSRF" in response.json()["detail"]
        assert not Post.objects.exists()

    @pytest.mark.parametrize(
        "data, field",
        [
            ({"body": "B"}, "title"),
            ({"title": "T"}, "body"),
            ({"title": "", "body": "B"}, "title"),
            ({"title": "T", "body": "   "}, "body"),
            ({"title": "x" * (TITLE_MAX_LENGTH + 1), "body": "B"}, "title"),
            ({"title": "T", "body": "x" * (BODY_MAX_LENGTH + 1)}, "body"),
        ],
        ids=[
            "missing title",
            "missing body",
            "blank title",
            "blank body",
            "oversized title",
            "oversized body",
        ],
    )
    def test_invalid_field_is_a_400_naming_the_field(self, author_client, data, field):
        response = author_client.post(POSTS_URL, data, format="json")

        assert response.status_code == 400
        assert field in response.json()
        assert not Post.objects.exists()

    def test_malformed_json_is_a_400(self, author_client):
        response = author_client.generic(
            "POST", POSTS_URL, '{"title": "T",', content_type="application/json"
        )

        assert response.status_code == 400
        assert "JSON parse error" in response.json()["detail"]

    def test_valid_post_is_a_201_with_the_new_post(self, author_client, user):
        response = author_client.post(POSTS_URL, {"title": "Hello", "body": "World"}, format="json")

        assert response.status_code == 201
        created = Post.objects.get()
        data = response.json()
        assert data["id"] == created.id
        assert data["title"] == "Hello"
        assert data["body"] == "World"
        assert data["user"] == {"id": user.id, "username": "alice"}
        assert data["url"].endswith(detail_url(created.id))
        assert response["Location"] == data["url"]

    def test_the_author_comes_from_the_token_not_the_body(self, author_client, user, other_user):
        response = author_client.post(
            POSTS_URL, {"title": "T", "body": "B", "user": other_user.id}, format="json"
        )

        assert response.status_code == 201
        assert Post.objects.get().user == user


class TestReadPosts:
    def test_post_has_the_documented_shape(self, api_client, post, stage):
        response = api_client.get(detail_url(post.id))

        assert response.status_code == 200
        data = response.json()
        assert set(data) == {"id", "url", "title", "body", "user", "created_at"}
        assert data["user"] == {"id": post.user.id, "username": "alice"}
        assert data["url"] == f"http://testserver{detail_url(post.id)}"

    def test_list_shows_every_post_newest_first(self, api_client, make_posts, stage):
        made = make_posts(3)

        response = api_client.get(POSTS_URL)

        assert response.status_code == 200
        assert [row["id"] for row in results(response)] == sorted(
            (p.id for p in made), reverse=True
        )

    @pytest.mark.parametrize(
        "post_id",
        ["999999", "abc", "1.5", str(2**63), str(2**70)],
        ids=["unknown", "non-numeric", "decimal", "above bigint", "far above bigint"],
    )
    def test_unknown_or_invalid_id_is_a_404(self, api_client, post, post_id):
        response = api_client.get(detail_url(post_id))

        assert response.status_code == 404
        assert response.json()["detail"]


class TestChangePost:
    def test_author_can_patch(self, author_client, post):
        response = author_client.patch(detail_url(post.id), {"title": "New"}, format="json")

        assert response.status_code == 200
        assert response.json()["title"] == "New"
        post.refresh_from_db()
        assert post.title == "New"

    def test_author_can_put(self, author_client, post):
        response = author_client.put(
            detail_url(post.id), {"title": "New", "body": "Whole"}, format="json"
        )

        assert response.status_code == 200
        post.refresh_from_db()
        assert (post.title, post.body) == ("New", "Whole")

    def test_invalid_change_is_a_400_and_changes_nothing(self, author_client, post):
        response = author_client.patch(detail_url(post.id), {"title": ""}, format="json")

        assert response.status_code == 400
        post.refresh_from_db()
        assert post.title == "First post"

    @pytest.mark.parametrize("method", ["put", "patch", "delete"])
    def test_someone_else_is_a_403_and_changes_nothing(self, other_client, post, method):
        response = getattr(other_client, method)(
            detail_url(post.id), {"title": "Mine now", "body": "x"}, format="json"
        )

        assert response.status_code == 403
        post.refresh_from_db()
        assert post.title == "First post"

    @pytest.mark.parametrize("method", ["put", "patch", "delete"])
    def test_anonymous_is_a_401_and_changes_nothing(self, api_client, post, method):
        response = getattr(api_client, method)(
            detail_url(post.id), {"title": "Mine now", "body": "x"}, format="json"
        )

        assert response.status_code == 401
        assert Post.objects.get().title == "First post"

    def test_author_can_delete_and_its_comments_go_with_it(
        self, author_client, post, comment, make_comments
    ):
        others = make_comments(2)  # on other posts: they stay

        response = author_client.delete(detail_url(post.id))

        assert response.status_code == 204
        assert not Post.objects.filter(id=post.id).exists()
        assert set(Comment.objects.values_list("id", flat=True)) == {c.id for c in others}

    def test_changing_a_missing_post_is_a_404(self, author_client):
        response = author_client.patch(detail_url(424242), {"title": "x"}, format="json")

        assert response.status_code == 404
