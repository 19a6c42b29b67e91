"""How fast does each bulk path write the seeder's posts and comments?

Times `posts_create` and `comments_create` (the rows `manage.py seed_posts` writes;
users, Faker pools and the commit's own I/O excluded) for each bulk path, in runs
interleaved so that load from elsewhere hits every path alike. Each run is a
transaction that is rolled back, on the database DATABASE_URL names; the foreign keys
still pending at the end are checked inside the timing, as a commit would:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/seedbench \\
        .venv/bin/python benchmarks/seed_bulk_insert.py --rows 100000 --repeat 3

Paths: `executemany` (batches of INSERTs) everywhere; on PostgreSQL also `copy` (the
seeder's: COPY ... FROM STDIN per batch, foreign keys checked per batch) and
`copy-deferred` (the same, foreign keys left to the end).
Use a database of your own: the tables are emptied inside each (rolled back) run.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from faker import Faker  # noqa: E402

from seed import builders  # noqa: E402


def copy_deferred(cursor, table, columns, batch):
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in batch:
            copy.write_row(row)


WRITERS = {"executemany": builders._executemany}
if connection.vendor == "postgresql":
    WRITERS |= {"copy": builders._copy, "copy-deferred": copy_deferred}


def no_progress(rows):
    pass


def run_once(writer, rows: int, batch_size: int) -> tuple[float, float]:
    """Seconds to write `rows` posts, then `rows` comments, with `writer`."""
    with (
        builders.bulk_load_settings(),
        transaction.atomic(),
        mock.patch.dict(builders.BULK_WRITERS, {connection.vendor: writer}),
    ):
        builders.seed_data_reset()
        author_ids = builders.users_ensure(count=1000, password="x", batch_size=batch_size)
        fake = Faker()
        fake.seed_instance(1234)
        # What posts_create and comments_create both take, as seed_posts passes it.
        common = {
            "count": rows,
            "author_ids": author_ids,
            "rng": random.Random(1234),
            "fake": fake,
            "batch_size": batch_size,
            "progress": no_progress,
        }
        started = time.perf_counter()
        builders.posts_create(**common)
        post_ids = builders.post_ids_read(
            chunk_size=batch_size, expect=no_progress, progress=no_progress
        )
        connection.check_constraints()
        posts = time.perf_counter() - started
        started = time.perf_counter()
        builders.comments_create(post_ids=post_ids, **common)
        connection.check_constraints()
        comments = time.perf_counter() - started
        transaction.set_rollback(True)
    return posts, comments


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="posts, and as many comments")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--paths", default=",".join(WRITERS), help="comma-separated")
    args = parser.parse_args()
    print(
        f"{connection.vendor}, {args.rows:,} posts + {args.rows:,} comments, "
        f"{args.repeat} runs each"
    )
    results = {name: [] for name in args.paths.split(",")}
    for _ in range(args.repeat):
        for name in results:
            posts, comments = run_once(WRITERS[name], args.rows, args.batch_size)
            results[name].append(posts + comments)
            print(f"  {name:<13} posts {posts:6.1f} s, comments {comments:6.1f} s", flush=True)
    for name, totals in results.items():
        print(
            f"{name:<13} best {min(totals):6.1f} s, worst {max(totals):6.1f} s, "
            f"median {statistics.median(totals):6.1f} s"
        )


if __name__ == "__main__":
    main()
