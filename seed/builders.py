"""Builders behind `manage.py seed_posts`: fast, deterministic fake data.

Five costs make a naive seeder slow, and each has its fix here:

- hashing a password per user (hundreds of ms each with Django's default hasher): the
  password is hashed once and the hash shared by every seeded user;
- asking Faker for every title and body (most of a naive run's time): Faker fills a
  pool of sentences and paragraphs once, and rows draw from the pool;
- one INSERT per row: users go in with `bulk_create`; posts and comments, the
  million-row tables, go in as plain tuples, a batch at a time, with COPY on
  PostgreSQL (twice as fast as executemany there, see `_copy`) and executemany
  elsewhere. Measured here at 100,000 posts: `bulk_create` took ~4 s, nearly all of
  it the ORM building a model instance and preparing each value in Python; the same
  INSERTs from tuples took ~0.6 s;
- holding every post id in memory so that comments can pick one: a million ids are
  ~40 MB as a list of ints, so `post_ids_read` keeps them as a range when they are one
  run, else as an array of 8-byte ints (8 MB);
- SQLite checking each row's foreign keys and paging its indexes through a 2 MB
  cache: `bulk_load_settings` turns the one off and enlarges the other, which took
  a million posts and comments with --reset from 64-96 s to 35-40 s here.

And one cost a bulk load leaves behind, on PostgreSQL: tables without statistics or a
visibility map until autovacuum gets to them, which `tables_settle` pays at once.
"""

import random
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from itertools import islice

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.models import Count, Max, Min
from django.utils import timezone
from faker import Faker

from blog.models import Comment, Post
from seed.accounts import seeded_users, username

# Pools large enough that repeats are rare on a page, small enough to fill in well
# under a second. A body is two to four paragraphs drawn from the pool.
TITLE_POOL_SIZE = 3_000
PARAGRAPH_POOL_SIZE = 1_500
COMMENT_POOL_SIZE = 2_000
# Seeded rows are spread over this window before now, oldest first.
HISTORY = timedelta(days=365)
# SQLite's page cache while seeding, in KiB (its default is 2 MB). Each comment lands
# at a random place in the comment table's indexes on its post; once they outgrow the
# cache, every insert reads and writes back pages. A million comments took 50-70 s
# with 2 MB, 24 s with 32 MB, 19-25 s with 64 MB and 17-20 s with 128 MB here; the
# process's peak memory grows by about the cache's size (~155 MB at 64 MB).
SQLITE_CACHE_KIB = 64 * 1024

Progress = Callable[[int], None]


def seed_data_reset() -> dict[str, int]:
    """Delete every post and comment, and the seeded users, without loading rows.

    Returns how many rows of each kind were deleted.
    """
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        # TRUNCATE swaps in empty files instead of marking each row dead and checking
        # the comment→post foreign key per post: 0.4 s at a million of each, counts
        # included, against 3-5 s for the two DELETEs. Without CASCADE it fails,
        # rather than emptying more, if another table ever references these two.
        comments, posts = Comment.objects.count(), Post.objects.count()
        # Django's foreign keys are checked at commit, and TRUNCATE refuses a table
        # with checks still pending from rows written earlier in the transaction (a
        # test's): run those checks now.
        connection.check_constraints()
        with connection.cursor() as cursor:
            cursor.execute(
                f"TRUNCATE {quote(Comment._meta.db_table)}, {quote(Post._meta.db_table)}"
            )
    else:
        # Comments have no dependants, so QuerySet.delete() runs one DELETE statement.
        # With foreign keys off (see bulk_load_settings), SQLite empties a table
        # without visiting each row: 2 s for a million of each here, against 13-27 s
        # with them on (10 s when the file is not in the OS cache).
        comments = Comment.objects.all().delete()[0]
        # Post.objects.all().delete() would read every post into memory to cascade to
        # its comments. Those are gone already, so one DELETE does the same work.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {quote(Post._meta.db_table)}")
            posts = cursor.rowcount
    # Seeded users are few; their delete cascades to their tokens and admin history.
    users = seeded_users().delete()[1].get(get_user_model()._meta.label, 0)
    return {"posts": posts, "comments": comments, "users": users}


@contextmanager
def bulk_load_settings():
    """Let SQLite take millions of rows in one transaction without thrashing; enter it
    before the transaction starts (SQLite ignores the foreign-key switch inside one).

    For this connection only, and put back after: a bigger page cache, and foreign keys
    not checked row by row, as Django's loaddata does. Every row the seeder writes
    refers to ids it read in the same transaction, which holds SQLite's write lock
    (BEGIN IMMEDIATE), so no reference can break meanwhile; the tests check them.
    PostgreSQL needs neither, and keeps its foreign-key checks (see `_copy`).
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        (previous_cache,) = cursor.execute("PRAGMA cache_size").fetchone()
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        with connection.constraint_checks_disabled():
            yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous_cache}")


def tables_settle(models) -> None:
    """On PostgreSQL, VACUUM (ANALYZE) the tables of `models`, as autovacuum would once
    it got to them (never, where it is off; maybe during a measurement, where it is on).

    A table loaded in bulk has no statistics (the planner guesses its size) and no
    visibility map (an index-only scan must still read the table). `paginated`'s
    COUNT(*) then reads every page of the posts (a Seq Scan, 307 pages at 5,000 posts)
    instead of its smallest index (7 pages): see benchmarks/count_plan.py. At a million
    posts and comments this took ~4 s here, after a seed of ~150 s.

    VACUUM cannot run inside a transaction: inside a caller's, only the statistics are
    gathered.
    """
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    tables = ", ".join(quote(model._meta.db_table) for model in models)
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        cursor.execute(f"{command} {tables}")


def users_ensure(*, count: int, password: str, batch_size: int) -> list[int]:
    """Make sure user1 ... user<count> exist and log in with `password`.

    Existing seeded users are reused and given the password; missing ones are created.
    Returns their ids in username order (index 0 is user1).
    """
    User = get_user_model()
    usernames = [username(i) for i in range(1, count + 1)]
    hashed = make_password(password)  # once: hashing is deliberately slow
    existing = (
        set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
        if count
        else set()
    )
    User.objects.filter(username__in=existing).update(password=hashed)
    User.objects.bulk_create(
        (
            User(username=name, password=hashed, email=f"{name}@example.com")
            for name in usernames
            if name not in existing
        ),
        batch_size=batch_size,
    )
    ids = dict(User.objects.filter(username__in=usernames).values_list("username", "id"))
    return [ids[name] for name in usernames]


def posts_create(
    *,
    count: int,
    author_ids: list[int],
    rng: random.Random,
    fake: Faker,
    batch_size: int,
    progress: Progress,
) -> None:
    """Insert `count` posts by the given authors, oldest first."""
    if not count:
        return
    titles = [fake.sentence(nb_words=6).rstrip(".") for _ in range(TITLE_POOL_SIZE)]
    paragraphs = [fake.paragraph(nb_sentences=4) for _ in range(PARAGRAPH_POOL_SIZE)]
    choice, sample, randint = rng.choice, rng.sample, rng.randint
    rows = (
        (
            choice(author_ids),
            choice(titles),
            "\n\n".join(sample(paragraphs, randint(2, 4))),
            created_at,
        )
        for created_at in _timeline(count)
    )
    _insert(
        Post,
        ["user", "title", "body", "created_at"],
        rows,
        batch_size=batch_size,
        progress=progress,
    )


def post_ids_read(*, chunk_size: int, expect: Progress, progress: Progress) -> Sequence[int]:
    """Every post id, newest first, in a form that stays small at millions of posts.

    When the ids are one unbroken run, as after a seed, a range stands for them and
    none is read. Otherwise they are streamed into an array of 8-byte ints, `chunk_size`
    at a time: `expect(n)` says n ids are about to be read, `progress(k)` that k more
    were. Either way `rng.choice(ids)` picks the same post for the same seed, because
    choice indexes the sequence and both index like the list of ids they replace.
    """
    span = Post.objects.aggregate(count=Count("id"), low=Min("id"), high=Max("id"))
    count, low, high = span["count"], span["low"], span["high"]
    if not count:
        return range(0)
    if count == high - low + 1:
        return range(high, low - 1, -1)
    expect(count)
    ids = array("q")
    stream = (
        Post.objects.order_by("-id").values_list("id", flat=True).iterator(chunk_size=chunk_size)
    )
    while chunk := list(islice(stream, chunk_size)):
        ids.extend(chunk)
        progress(len(chunk))
    return ids


def comments_create(
    *,
    count: int,
    author_ids: list[int],
    post_ids: Sequence[int],
    rng: random.Random,
    fake: Faker,
    batch_size: int,
    progress: Progress,
) -> None:
    """Insert `count` comments by the given authors on the given posts."""
    if not count:
        return
    bodies = [fake.paragraph(nb_sentences=2) for _ in range(COMMENT_POOL_SIZE)]
    choice = rng.choice
    rows = (
        (choice(post_ids), choice(author_ids), choice(bodies), created_at)
        for created_at in _timeline(count)
    )
    _insert(
        Comment,
        ["post", "user", "body", "created_at"],
        rows,
        batch_size=batch_size,
        progress=progress,
    )


def _timeline(count: int) -> Iterator:
    """`count` timestamps evenly spread over HISTORY, ending now, oldest first,
    in the form the database takes them."""
    end = timezone.now()
    start = end - HISTORY
    step = HISTORY / max(count, 1)
    adapt = connection.ops.adapt_datetimefield_value
    return (adapt(start + step * i) for i in range(1, count + 1))


def _insert(
    model, fields: list[str], rows: Iterator[tuple], *, batch_size: int, progress: Progress
) -> None:
    """Write `rows` (tuples of `fields`' values) into `model`'s table a batch at a time,
    with the fastest bulk path the database offers: memory stays bounded and progress
    moves."""
    opts = model._meta
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    columns = ", ".join(quote(opts.get_field(name).column) for name in fields)
    write = BULK_WRITERS.get(connection.vendor, _executemany)
    with connection.cursor() as cursor:
        while batch := list(islice(rows, batch_size)):
            write(cursor, table, columns, batch)
            progress(len(batch))


def _executemany(cursor, table: str, columns: str, batch: list[tuple]) -> None:
    """One INSERT, run for every row of the batch."""
    placeholders = ", ".join(["%s"] * len(batch[0]))
    cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", batch)


def _copy(cursor, table: str, columns: str, batch: list[tuple]) -> None:
    """Stream the batch into PostgreSQL with COPY ... FROM STDIN (psycopg 3).

    No per-row parse, bind and reply as with executemany: psycopg sends the rows in
    large buffers. Measured here with benchmarks/seed_bulk_insert.py (posts and as many
    comments, foreign-key checks included, 2 cores shared with other work):

    - 100,000 + 100,000, 3 runs: executemany 11.1 s best (12.8 s worst), COPY 5.2 s
      (6.1 s);
    - 1,000,000 + 1,000,000, 2 runs: executemany 103 s (129 s), COPY 50 s (63 s).

    Without the checks COPY writes ~4x faster (126 s against 36 s at a million).
    Binary COPY was no faster (medians 28 s against 25 s) and needs every column's
    exact type, so the text format stays.
    """
    # The Django cursor's .cursor is psycopg's own, which offers copy().
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in batch:
            copy.write_row(row)
    # Django's foreign keys are checked at commit, a row at a time: ~25 s of silence
    # after a million posts and comments. Checking each batch's now costs about the
    # same (50 s against 48 s best at a million) and keeps that time in the progress.
    connection.check_constraints()


# The fastest way to bulk-load, by connection.vendor (executemany when not listed).
BULK_WRITERS = {"postgresql": _copy}
