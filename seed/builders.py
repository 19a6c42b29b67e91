"""Builders behind `manage.py seed_posts`: fast, deterministic fake data.

Three costs make a naive seeder slow, and each has its fix here:

- hashing a password per user (~200 ms each with Django's default hasher): the
  password is hashed once and the hash shared by every seeded user;
- asking Faker for every title and body (most of a naive run's time): Faker fills a
  pool of sentences and paragraphs once, and rows draw from the pool;
- one INSERT per row: users go in with `bulk_create`; posts and comments, the
  hundred-thousand-row tables, go in as plain tuples with `executemany`, a batch at
  a time. Measured here at 100,000 posts: `bulk_create` took ~4 s, nearly all of it
  the ORM building a model instance and preparing each value in Python; the same
  INSERTs from tuples took ~0.6 s. Comments pick their post from a list of ids read
  once.
"""

import random
from collections.abc import Callable, Iterator
from datetime import timedelta
from itertools import islice

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone
from faker import Faker

from blog.models import Comment, Post

# Seeded accounts are user1 ... userN; nothing else is ever deleted by --reset.
SEEDED_USERNAME_PREFIX = "user"
SEEDED_USERNAME_REGEX = rf"^{SEEDED_USERNAME_PREFIX}[0-9]+$"

# Pools large enough that repeats are rare on a page, small enough to fill in well
# under a second. A body is two to four paragraphs drawn from the pool.
TITLE_POOL_SIZE = 3_000
PARAGRAPH_POOL_SIZE = 1_500
COMMENT_POOL_SIZE = 2_000
# Seeded rows are spread over this window before now, oldest first.
HISTORY = timedelta(days=365)

Progress = Callable[[int], None]


def seeded_users():
    """The accounts the seeder creates and a load test logs in as."""
    return get_user_model().objects.filter(username__regex=SEEDED_USERNAME_REGEX)


def seed_data_reset() -> dict[str, int]:
    """Delete every post and comment, and the seeded users, without loading rows.

    Returns how many rows of each kind were deleted.
    """
    # Comments have no dependants, so QuerySet.delete() runs one DELETE statement.
    comments = Comment.objects.all().delete()[0]
    # Post.objects.all().delete() would read every post into memory to cascade to its
    # comments. Those are gone already, so one DELETE does the same work.
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(Post._meta.db_table)}")
        posts = cursor.rowcount
    # Seeded users are few; their delete cascades to their tokens and admin history.
    users = seeded_users().delete()[1].get(get_user_model()._meta.label, 0)
    return {"posts": posts, "comments": comments, "users": users}


def users_ensure(*, count: int, password: str, batch_size: int) -> list[int]:
    """Make sure user1 ... user<count> exist and log in with `password`.

    Existing seeded users are reused and given the password; missing ones are created.
    Returns their ids in username order (index 0 is user1).
    """
    User = get_user_model()
    usernames = [f"{SEEDED_USERNAME_PREFIX}{i}" for i in range(1, count + 1)]
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


def comments_create(
    *,
    count: int,
    author_ids: list[int],
    post_ids: list[int],
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
    """INSERT `rows` (tuples of `fields`' values) a batch at a time with executemany:
    memory stays bounded and progress moves."""
    opts = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(opts.get_field(name).column) for name in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        while batch := list(islice(rows, batch_size)):
            cursor.executemany(sql, batch)
            progress(len(batch))
