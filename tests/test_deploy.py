"""Production settings: `manage.py check --deploy` passes with them, and DJANGO_HTTPS
turns on what a site behind a TLS-terminating proxy needs, and nothing without it."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

BASE_DIR = Path(__file__).resolve().parent.parent
SETTINGS_FILE = BASE_DIR / "project" / "settings.py"

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),  # 67 random characters
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "DJANGO_HTTPS": "1",
}
# What DJANGO_HTTPS=1 sets, and the values a local run keeps without it.
HTTPS_SETTINGS = {
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_SSL_REDIRECT": True,
    "SECURE_REDIRECT_EXEMPT": [r"^api/health/$"],
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SECURE_HSTS_SECONDS": 31_536_000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
}


def check_deploy(env):
    """`manage.py check --deploy --fail-level WARNING` with these DJANGO_* variables only."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_with(monkeypatch, **env):
    """project/settings.py evaluated afresh under these DJANGO_* variables, as a dict."""
    for name in ("DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DJANGO_HTTPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def https_settings(evaluated):
    return {name: evaluated[name] for name in HTTPS_SETTINGS if name in evaluated}


class TestDeployChecks:
    def test_production_settings_pass(self):
        result = check_deploy(PRODUCTION)

        assert result.returncode == 0, result.stderr
        assert "no issues" in result.stdout

    @pytest.mark.parametrize(
        "unset, warnings",
        [
            ("DJANGO_SECRET_KEY", ["security.W009"]),
            ("DJANGO_HTTPS", ["security.W004", "security.W008", "security.W012", "security.W016"]),
        ],
        ids=["the dev-only secret key", "plain http"],
    )
    def test_they_fail_without(self, unset, warnings):
        env = {name: value for name, value in PRODUCTION.items() if name != unset}

        result = check_deploy(env)

        assert result.returncode != 0
        for warning in warnings:
            assert warning in result.stderr


class TestHttpsSwitch:
    def test_unset_it_changes_nothing(self, monkeypatch):
        evaluated = settings_with(monkeypatch)

        assert evaluated["HTTPS"] is False
        assert https_settings(evaluated) == {}

    def test_unset_plain_http_is_served(self, api_client, db):
        response = api_client.get("/api/health/")

        assert response.status_code == 200
        assert "Strict-Transport-Security" not in response

    def test_set_it_turns_on_https_only_cookies_and_hsts(self, monkeypatch):
        evaluated = settings_with(monkeypatch, DJANGO_HTTPS="1")

        assert https_settings(evaluated) == HTTPS_SETTINGS

    @pytest.fixture
    def behind_a_tls_proxy(self, monkeypatch):
        evaluated = settings_with(monkeypatch, DJANGO_HTTPS="1")
        with override_settings(**https_settings(evaluated)):
            yield

    def test_set_http_is_redirected_to_https(self, api_client, behind_a_tls_proxy):
        response = api_client.get("/api/posts/")

        assert response.status_code == 301
        assert response["Location"] == "https://testserver/api/posts/"

    def test_set_https_from_the_proxy_is_served_with_hsts(self, api_client, db, behind_a_tls_proxy):
        response = api_client.get("/api/posts/", HTTP_X_FORWARDED_PROTO="https")

        assert response.status_code == 200
        assert (
            response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        )

    def test_set_the_readiness_check_still_answers_over_http(
        self, api_client, db, behind_a_tls_proxy
    ):
        """A load balancer probes it from the inside, over plain http."""
        response = api_client.get("/api/health/")

        assert response.status_code == 200
