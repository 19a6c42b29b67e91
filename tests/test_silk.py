"""django-silk: on only with DJANGO_SILK=1, and never on a measured server."""

import urllib.request
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from loadtest.server import serve
from project.middleware import parse
from stages import EXPECTED_QUERIES
from tests.conftest import manage

# Runs inside `manage.py shell` with DJANGO_SILK=1: one API request, then silk's record
# of it and its pages.
PROFILE_ONE_REQUEST = """
from django.test import Client
from silk.models import Request
client = Client(HTTP_HOST="127.0.0.1")
api = client.get("/api/posts/")
silk = client.get("/silk/")
print(api.status_code, silk.status_code, Request.objects.filter(path="/api/posts/").count())
"""
COUNT_RECORDED = "from silk.models import Request; print(Request.objects.count())"
# Runs inside `manage.py shell`: one warmed-up request, its Server-Timing header and the
# statements the connection ran for it.
COUNT_STATEMENTS = """
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client(HTTP_HOST="127.0.0.1")
client.get("/api/health/")
with CaptureQueriesContext(connection) as ran:
    response = client.get("/api/health/")
print(response["Server-Timing"], len(ran.captured_queries))
"""


def test_silk_is_off_by_default(settings):
    assert settings.SILK_ENABLED is False
    assert "silk" not in settings.INSTALLED_APPS


@pytest.mark.django_db
def test_a_replay_refuses_to_run_with_silk_on(settings, tmp_path):
    settings.SILK_ENABLED = True

    with pytest.raises(CommandError, match="DJANGO_SILK=1 is set"):
        call_command("replay", "--out", str(tmp_path / "r"), stdout=StringIO())

    assert not (tmp_path / "r").exists()


class TestSilkOn:
    @pytest.fixture
    def silk_database_url(self, live_database_url, monkeypatch):
        monkeypatch.setenv("DJANGO_SILK", "1")
        migrated = manage("migrate", "-v0", database_url=live_database_url)
        assert migrated.returncode == 0, migrated.stderr
        return live_database_url

    def test_a_request_is_recorded_and_silk_pages_are_served(self, silk_database_url):
        result = manage("shell", "-v0", "-c", PROFILE_ONE_REQUEST, database_url=silk_database_url)

        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["200", "200", "1"]

    def test_a_server_started_for_measuring_never_records(self, silk_database_url):
        with serve("paginated", env={"DATABASE_URL": silk_database_url}) as url:
            urllib.request.urlopen(f"{url}/api/posts/").read()

        recorded = manage("shell", "-v0", "-c", COUNT_RECORDED, database_url=silk_database_url)
        assert recorded.stdout.strip() == "0"

    def test_silk_runs_more_statements_than_the_request_itself(self, silk_database_url):
        """Why figures taken with silk on are silk's: it writes its own rows for every
        request and runs an EXPLAIN of each query, which even Server-Timing counts."""
        own = EXPECTED_QUERIES["GET /api/health/"]["naive"].for_rows(0)

        result = manage("shell", "-v0", "-c", COUNT_STATEMENTS, database_url=silk_database_url)

        assert result.returncode == 0, result.stderr
        header, statements = result.stdout.strip().rsplit(maxsplit=1)
        assert int(statements) > 2 * own
        assert parse(header).queries > own
