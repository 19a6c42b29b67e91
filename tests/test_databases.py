"""The databases a replay serves: copies settled before they are served, and given the
accounts their users need."""

import json
from unittest import mock

import pytest
from django.conf import settings as django_settings

from loadtest import databases
from tests.conftest import manage

ON_POSTGRESQL = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
COUNT = 'SELECT COUNT(*) AS "__count" FROM "blog_post"'  # the paginated stage's


def explain(url: str) -> str:
    """The plan PostgreSQL runs the paginated stage's COUNT(*) with, as it ran."""
    with databases.connect(url) as conn:
        rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {COUNT}").fetchall()
    return "\n".join(line for (line,) in rows)


def write_posts_since_the_last_vacuum(url: str, count: int) -> None:
    """Rows as long as the seeder's (a body of paragraphs), as a load run or `make
    serve` adds them: autovacuum (off on this server) has not seen them."""
    with databases.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO blog_post (user_id, title, body, created_at) "
            "SELECT (SELECT MIN(id) FROM auth_user), 'Title', repeat('Lorem ipsum. ', 60), "
            "now() FROM generate_series(1, %s)",
            [count],
        )


@pytest.mark.skipif(not ON_POSTGRESQL, reason="PostgreSQL's statistics and visibility map")
def test_a_copy_is_settled_so_the_count_reads_an_index_not_the_table(live_database_url, tmp_path):
    write_posts_since_the_last_vacuum(live_database_url, 3000)
    name = live_database_url.rsplit("/", 1)[1]

    with mock.patch.dict(django_settings.DATABASES["default"], {"NAME": name}):
        with databases.clone(tmp_path) as copy:
            copied = explain(copy)

    assert "Seq Scan on blog_post" in explain(live_database_url)
    assert "Index Only Scan" in copied
    assert "Heap Fetches: 0" in copied


def test_accounts_are_added_and_nothing_else(live_database_url):
    databases.add_accounts(live_database_url, count=5, password="another-password")

    result = manage(
        "shell",
        "-v0",
        "-c",
        "import json; from blog.models import Comment, Post; "
        "from seed.accounts import seeded_users; "
        "print(json.dumps([Post.objects.count(), Comment.objects.count(), "
        "[u.check_password('another-password') for u in seeded_users().order_by('id')]]))",
        database_url=live_database_url,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == [30, 30, [True] * 5]
