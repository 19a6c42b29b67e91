"""/api/posts/{id}/comments/, /api/comments/ and /api/comments/{id}/."""

import pytest

from blog.models import BODY_MAX_LENGTH, Comment
from tests.helpers import results

pytestmark = pytest.mark.django_db

COMMENTS_URL = "/api/comments/"


def post_comments_url(post_id):
    return f"/api/posts/{post_id}/comments/"


def detail_url(comment_id):
    return f"/api/comments/{comment_id}/"


class TestCreateComment:
    def test_anonymous_is_a_401_and_nothing_is_written(self, api_client, post):
        response = api_client.post(post_comments_url(post.id), {"body": "Hi"}, format="json")

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert not Comment.objects.exists()

    def test_posting_to_the_comments_list_is_not_allowed(self, author_client, post):
        """New comments belong to a post: the top-level list is read-only."""
        response = author_client.post(COMMENTS_URL, {"body": "Hi"}, format="json")

        assert response.status_code == 405
        assert not Comment.objects.exists()

    @pytest.mark.parametrize(
        "data",
        [{}, {"body": ""}, {"body": "\n "}, {"body": "x" * (BODY_MAX_LENGTH + 1)}],
        ids=["missing", "blank", "whitespace", "oversized"],
    )
    def test_invalid_body_is_a_400_naming_the_field(self, author_client, post, data):
        response = author_client.post(post_comments_url(post.id), data, format="json")

        assert response.status_code == 400
        assert "body" in response.json()
        assert not Comment.objects.exists()

    def test_valid_comment_is_a_201_on_that_post(self, author_client, post, user):
        response = author_client.post(post_comments_url(post.id), {"body": "Hi"}, format="json")

        assert response.status_code == 201
        created = Comment.objects.get()
        assert created.post == post
        data = response.json()
        assert data["id"] == created.id
        assert data["body"] == "Hi"
        assert data["user"] == {"id": user.id, "username": "alice"}
        assert data["post"] == {"id": post.id, "title": "First post"}

    def test_anyone_signed_in_may_comment_on_anyones_post(self, other_client, post, other_user):
        response = other_client.post(post_comments_url(post.id), {"body": "Hi"}, format="json")

        assert response.status_code == 201
        assert Comment.objects.get().user == other_user

    @pytest.mark.parametrize("post_id", ["424242", "abc", str(2**70)])
    def test_commenting_on_a_missing_post_is_a_404(self, author_client, post_id):
        response = author_client.post(post_comments_url(post_id), {"body": "Hi"}, format="json")

        assert response.status_code == 404
        assert not Comment.objects.exists()


class TestReadComments:
    def test_comment_has_the_documented_shape(self, api_client, comment, stage):
        response = api_client.get(detail_url(comment.id))

        assert response.status_code == 200
        data = response.json()
        assert set(data) == {"id", "url", "body", "user", "post", "created_at"}
        assert data["user"] == {"id": comment.user.id, "username": "alice"}
        assert data["post"] == {"id": comment.post.id, "title": "First post"}
        assert data["url"] == f"http://testserver{detail_url(comment.id)}"

    def test_a_posts_comments_are_only_that_posts(self, api_client, post, make_comments, stage):
        own = make_comments(3, post=post)
        make_comments(2)  # on other posts

        response = api_client.get(post_comments_url(post.id))

        assert response.status_code == 200
        assert [row["id"] for row in results(response)] == sorted((c.id for c in own), reverse=True)

    def test_the_comments_list_holds_every_comment(self, api_client, make_comments, stage):
        made = make_comments(4)

        response = api_client.get(COMMENTS_URL)

        assert response.status_code == 200
        assert {row["id"] for row in results(response)} == {c.id for c in made}

    @pytest.mark.parametrize("post_id", ["424242", "abc"])
    def test_the_comments_of_a_missing_post_are_a_404(self, api_client, post_id, stage):
        response = api_client.get(post_comments_url(post_id))

        assert response.status_code == 404

    @pytest.mark.parametrize("comment_id", ["424242", "abc", str(2**70)])
    def test_unknown_or_invalid_comment_id_is_a_404(self, api_client, comment_id):
        response = api_client.get(detail_url(comment_id))

        assert response.status_code == 404


class TestChangeComment:
    def test_author_can_patch(self, author_client, comment):
        response = author_client.patch(detail_url(comment.id), {"body": "Edited"}, format="json")

        assert response.status_code == 200
        assert response.json()["body"] == "Edited"
        comment.refresh_from_db()
        assert comment.body == "Edited"

    def test_author_can_delete(self, author_client, comment):
        response = author_client.delete(detail_url(comment.id))

        assert response.status_code == 204
        assert not Comment.objects.exists()

    def test_the_post_author_cannot_edit_someone_elses_comment(
        self, author_client, post, other_user
    ):
        """Owning the post gives no rights over the comments on it."""
        theirs = Comment.objects.create(post=post, user=other_user, body="Mine")

        response = author_client.patch(detail_url(theirs.id), {"body": "Yours"}, format="json")

        assert response.status_code == 403
        theirs.refresh_from_db()
        assert theirs.body == "Mine"

    @pytest.mark.parametrize("method", ["patch", "delete"])
    def test_someone_else_is_a_403_and_changes_nothing(self, other_client, comment, method):
        response = getattr(other_client, method)(
            detail_url(comment.id), {"body": "Mine now"}, format="json"
        )

        assert response.status_code == 403
        comment.refresh_from_db()
        assert comment.body == "Nice post."

    @pytest.mark.parametrize("method", ["patch", "delete"])
    def test_anonymous_is_a_401_and_changes_nothing(self, api_client, comment, method):
        response = getattr(api_client, method)(
            detail_url(comment.id), {"body": "Mine now"}, format="json"
        )

        assert response.status_code == 401
        assert Comment.objects.get().body == "Nice post."
