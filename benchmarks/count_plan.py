"""Why `paginated`'s COUNT(*) cost more than its page on PostgreSQL, and what settling does.

Bulk-loads a scratch database the way `seed_posts` did before it ran VACUUM (ANALYZE)
after its commit (the same builders, in one transaction), then prints how PostgreSQL
runs the paginated stage's COUNT(*), with EXPLAIN (ANALYZE, BUFFERS), twice each:

- on a copy made with CREATE DATABASE ... TEMPLATE, as `replay` served its stages
  before: no statistics, no visibility map (autovacuum is off on this server, and
  where it is on it may run in the middle of a measurement);
- on the copy `replay` serves now (`loadtest.databases.clone`, which settles it).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/count_plan.py [--posts 5000] [--comments 5000]

The scratch database and its copies are dropped.
"""

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from loadtest import databases  # noqa: E402

COUNT = 'SELECT COUNT(*) AS "__count" FROM "blog_post"'  # what the paginated stage sends
STATE = (
    "SELECT relpages, reltuples, relallvisible, "
    "(SELECT COUNT(*) FROM pg_stats WHERE tablename = 'blog_post') AS columns_with_stats "
    "FROM pg_class WHERE relname = 'blog_post'"
)


def bulk_load(posts: int, comments: int) -> None:
    """Seed as seed_posts does, without the VACUUM (ANALYZE) it now runs after."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections, transaction
    from faker import Faker

    from seed import builders

    call_command("migrate", verbosity=0)
    rng, fake = random.Random(1234), Faker()
    fake.seed_instance(1234)
    with transaction.atomic():
        authors = builders.users_ensure(count=20, password="password123", batch_size=5000)
        common = {"author_ids": authors, "rng": rng, "fake": fake, "batch_size": 5000}
        builders.posts_create(count=posts, progress=lambda rows: None, **common)
        builders.comments_create(
            count=comments,
            post_ids=builders.post_ids_read(
                chunk_size=5000, expect=lambda rows: None, progress=lambda rows: None
            ),
            progress=lambda rows: None,
            **common,
        )
    # CREATE DATABASE ... TEMPLATE needs the source to have no connection open.
    connections.close_all()


def show(title: str, url: str) -> None:
    print(f"## {title}\n")
    with databases.connect(url) as conn:
        pages, rows, visible, columns = conn.execute(STATE).fetchone()
        print(
            f"pg_class: relpages {pages}, reltuples {rows:g}, relallvisible {visible}; "
            f"pg_stats: {columns} columns\n"
        )
        for run in ("first run", "second run"):
            plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {COUNT}").fetchall()
            print(f"{run}:\n")
            print("\n".join(f"    {line}" for (line,) in plan) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=5000, help="posts (default 5000)")
    parser.add_argument("--comments", type=int, default=5000, help="comments (default 5000)")
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server (postgres://...).")
    name = f"count_plan_{os.getpid()}"
    with tempfile.TemporaryDirectory() as folder:
        with databases.empty(name, server=server, folder=Path(folder)) as url:
            os.environ["DATABASE_URL"] = url
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
            bulk_load(args.posts, args.comments)
            with databases.admin(server) as admin:
                version = admin.execute("SHOW server_version").fetchone()[0]
                autovacuum = admin.execute("SHOW autovacuum").fetchone()[0]
            print(
                f"# The paginated stage's COUNT(*) at {args.posts:,} posts\n\n"
                f"Made with `python benchmarks/count_plan.py --posts {args.posts} --comments "
                f"{args.comments}` (DATABASE_URL naming the server) on PostgreSQL "
                f"{version.split()[0]}, autovacuum {autovacuum}. Query: `{COUNT}`\n"
            )
            with databases.admin(server) as admin:
                admin.execute(f'CREATE DATABASE "{name}_template_copy" TEMPLATE "{name}"')
            try:
                show(
                    "A copy made with CREATE DATABASE ... TEMPLATE, as bulk-loaded",
                    databases.with_name(server, f"{name}_template_copy"),
                )
            finally:
                with databases.admin(server) as admin:
                    admin.execute(f'DROP DATABASE "{name}_template_copy" WITH (FORCE)')
            with databases.clone(Path(folder)) as copy:
                show("The copy replay serves: databases.clone, settled with VACUUM (ANALYZE)", copy)


if __name__ == "__main__":
    main()
