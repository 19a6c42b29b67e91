"""What a human sees: the browsable API, the admin, and settings that decide behaviour."""

import logging

import pytest
from django.conf import settings

from blog.views import PostViewSet

pytestmark = pytest.mark.django_db


class TestBrowsableApi:
    def test_a_browser_gets_html(self, api_client, post):
        response = api_client.get("/api/posts/", HTTP_ACCEPT="text/html")

        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        assert b"First post" in response.content

    @pytest.mark.django_db(transaction=True)
    @pytest.mark.parametrize("path", ["/api/posts/{post}/", "/api/comments/{comment}/"])
    def test_the_author_gets_the_edit_form_at_every_stage(
        self, api_client, user, comment, stage, path
    ):
        """The page renders its PUT form after the view has returned, outside any write's
        transaction: it must not take the write path's row lock, which PostgreSQL refuses
        outside a transaction. So this test runs outside a test's transaction too."""
        api_client.force_login(user)

        response = api_client.get(
            path.format(post=comment.post_id, comment=comment.id), HTTP_ACCEPT="text/html"
        )

        assert response.status_code == 200
        assert b'data-method="PUT"' in response.content

    def test_the_login_page_is_there(self, api_client):
        response = api_client.get("/api/auth/login/")

        assert response.status_code == 200

    def test_its_static_files_are_served(self, client):
        response = client.get("/static/rest_framework/css/default.css")

        assert response.status_code == 200


class TestAdmin:
    @pytest.mark.parametrize(
        "path, count", [("/admin/blog/post/", b"1 post"), ("/admin/blog/comment/", b"1 comment")]
    )
    def test_posts_and_comments_are_in_the_admin(self, admin_client, comment, path, count):
        response = admin_client.get(path)

        assert response.status_code == 200
        assert count in response.content

    def test_a_post_opens_in_the_admin(self, admin_client, post):
        response = admin_client.get(f"/admin/blog/post/{post.id}/change/")

        assert response.status_code == 200
        assert b"First post" in response.content


class TestSettings:
    def test_debug_is_off_by_default(self):
        assert settings.DEBUG is False

    def test_only_local_hosts_are_allowed_by_default(self):
        assert {"localhost", "127.0.0.1"} <= set(settings.ALLOWED_HOSTS)
        assert "*" not in settings.ALLOWED_HOSTS

    def test_an_unexpected_error_is_a_json_500_and_logged_with_its_traceback(
        self, api_client, post, monkeypatch
    ):

        def broken(*args, **kwargs):
            raise RuntimeError("kaboom")

        monkeypatch.setattr(PostViewSet, "retrieve", broken)
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logging.getLogger("django.request").addHandler(handler)
        api_client.raise_request_exception = False
        try:
            response = api_client.get(f"/api/posts/{post.id}/")
        finally:
            logging.getLogger("django.request").removeHandler(handler)

        assert response.status_code == 500
        assert response.json() == {"error": "Server Error (500)"}
        assert records and records[0].exc_info[0] is RuntimeError
        console = logging.getLogger("django.request").handlers
        assert any(type(h) is logging.StreamHandler for h in console)
