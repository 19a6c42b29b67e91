"""POST /api/auth/token/: a token for a username and password, and what it unlocks."""

import pytest
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"


class TestObtainToken:
    def test_json_credentials_get_the_users_token(self, api_client, user):
        response = api_client.post(
            TOKEN_URL, {"username": "alice", "password": "alice-password"}, format="json"
        )

        assert response.status_code == 200
        assert response.json() == {"token": Token.objects.get(user=user).key}

    def test_form_credentials_work_too(self, api_client, user):
        response = api_client.post(TOKEN_URL, {"username": "alice", "password": "alice-password"})

        assert response.status_code == 200
        assert response.json()["token"]

    def test_logging_in_twice_gives_the_same_token(self, api_client, user):
        credentials = {"username": "alice", "password": "alice-password"}

        first = api_client.post(TOKEN_URL, credentials, format="json").json()["token"]
        second = api_client.post(TOKEN_URL, credentials, format="json").json()["token"]

        assert first == second

    def test_wrong_password_is_a_400_with_a_message(self, api_client, user):
        response = api_client.post(
            TOKEN_URL, {"username": "alice", "password": "wrong"}, format="json"
        )

        assert response.status_code == 400
        assert response.json() == {
            "non_field_errors": ["Unable to log in with provided credentials."]
        }

    def test_unknown_user_is_a_400(self, api_client, db):
        response = api_client.post(
            TOKEN_URL, {"username": "nobody", "password": "x"}, format="json"
        )

        assert response.status_code == 400

    def test_missing_fields_are_named_in_the_400(self, api_client, db):
        response = api_client.post(TOKEN_URL, {}, format="json")

        assert response.status_code == 400
        assert set(response.json()) == {"username", "password"}


class TestTokenAuthentication:
    def test_the_token_authenticates_a_write(self, api_client, user):
        token = api_client.post(
            TOKEN_URL, {"username": "alice", "password": "alice-password"}, format="json"
        ).json()["token"]
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

        response = api_client.post("/api/posts/", {"title": "T", "body": "B"}, format="json")

        assert response.status_code == 201
        assert response.json()["user"]["username"] == "alice"

    def test_an_unknown_token_is_a_401(self, api_client, db):
        api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

        response = api_client.get("/api/posts/")

        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token."}

    def test_a_401_says_how_to_authenticate(self, api_client, db):
        response = api_client.post("/api/posts/", {"title": "T", "body": "B"}, format="json")

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
