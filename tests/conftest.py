import importlib
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.test.utils import CaptureQueriesContext
from django.urls import clear_url_caches, set_urlconf
from model_bakery import baker
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from blog.models import Comment, Post
from loadtest import databases
from project.middleware import is_query
from stages import STAGES

BASE_DIR = Path(__file__).resolve().parent.parent


@receiver(setting_changed)
def serve_switched_stage(setting, **kwargs):
    """project/urls.py picks the stage's views when imported: re-import it whenever a
    test switches STAGE (and when the switch is undone), as a server restart would."""
    if setting == "STAGE":
        clear_url_caches()
        importlib.reload(importlib.import_module(django_settings.ROOT_URLCONF))
        set_urlconf(None)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hashing with Django's real hasher costs hundreds of ms a password; tests don't need it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def own_cache_keys(settings):
    """The cached stage's Redis is shared (by other test runs too) and outlives each
    test's rolled-back database: each test keeps its pages and versions under keys of
    its own, which expire soon after."""
    tag = uuid.uuid4().hex[:12]
    settings.CACHES = {
        alias: {**config, "KEY_PREFIX": f"test-{tag}-{alias}", "TIMEOUT": 600}
        for alias, config in django_settings.CACHES.items()
    }


@pytest.fixture(params=STAGES)
def stage(request, settings):
    """Run the test once at every stage, the way `STAGE=<name>` serves it."""
    settings.STAGE = request.param
    return request.param


@pytest.fixture
def at_stage(settings):
    """Switch the served stage from inside a test: `at_stage("paginated")`."""

    def switch(name):
        settings.STAGE = name

    return switch


@pytest.fixture
def assert_num_queries():
    """`with assert_num_queries(n):` the block runs exactly n queries, counted by the rule
    Server-Timing uses (`project.middleware.is_query`): transaction control, such as the
    SAVEPOINT of an atomic block inside the test's transaction, is not a query."""

    @contextmanager
    def check(expected):
        with CaptureQueriesContext(connection) as context:
            yield
        queries = [q["sql"] for q in context.captured_queries if is_query(q["sql"])]
        assert len(queries) == expected, (
            f"{len(queries)} queries, expected {expected}:\n" + "\n".join(queries)
        )

    return check


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-password")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-password")


def client_for(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def author_client(user):
    """A client that sends alice's token: alice writes the posts in these tests."""
    return client_for(user)


@pytest.fixture
def other_client(other_user):
    """A client that sends bob's token: signed in, but not the author."""
    return client_for(other_user)


@pytest.fixture
def post(user):
    return baker.make(Post, user=user, title="First post", body="Hello.")


@pytest.fixture
def comment(post, user):
    return baker.make(Comment, post=post, user=user, body="Nice post.")


@pytest.fixture
def make_posts(django_user_model):
    """Create `n` posts, each by a different author, so each row has its own author to fetch."""

    def make(n):
        authors = baker.make(django_user_model, _quantity=n, _bulk_create=True)
        return baker.make(Post, user=iter(authors), _quantity=n, _bulk_create=True)

    return make


@pytest.fixture
def make_comments(django_user_model):
    """Create `n` comments (on `post` if given, else each on a post of its own), each by
    a different author."""

    def make(n, post=None):
        authors = baker.make(django_user_model, _quantity=n, _bulk_create=True)
        posts = [post] * n if post else baker.make(Post, _quantity=n, _bulk_create=True)
        return baker.make(
            Comment, user=iter(authors), post=iter(posts), _quantity=n, _bulk_create=True
        )

    return make


def manage(*args, database_url, timeout=120):
    """Run `python manage.py <args>` against `database_url`, as a reader would."""
    return databases.manage(*args, database_url=database_url, timeout=timeout)


@pytest.fixture
def live_database_url(tmp_path):
    """A migrated database of its own, on the same kind of database as this test run,
    seeded with a little data (3 users, 30 posts, 30 comments), for a live server.

    Live servers cannot use the test database: its rows live in a transaction that
    is never committed.
    """
    name = f"live_{uuid.uuid4().hex[:12]}"
    with databases.empty(name, server=databases.project_server(), folder=tmp_path) as url:
        databases.populate(url, users=3, posts=30, comments=30, timeout=120)
        yield url
