"""The optimisation journey: the same API at each step, and what each step costs in queries.

`STAGE` (read once, in `project/settings.py`) names one of `STAGES`; `project/urls.py`
serves that stage's views, which live in the module of the same name here. Each stage
module subclasses the previous stage's views and overrides only what its step changes:
`get_queryset()`, `pagination_class`, then the read path (`values`: rows without a
serializer) and the cache around it (`cached`: pages in Redis, invalidated by writes),
so the module is the whole step: read it rather than a diff against the previous
module, which would show the code it inherits as removed.

This package imports nothing from Django, so that settings can check a stage's name
before any app is loaded.
"""

import os
from dataclasses import dataclass
from importlib import import_module

# In journey order: each stage builds on the one before it.
STAGES = ("naive", "select_related", "paginated", "cursor", "values", "cached")
DEFAULT_STAGE = "naive"
# Stages that keep pages in Redis, and where Redis is unless REDIS_URL says otherwise.
CACHED_STAGES = ("cached",)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def check_stage(name: str) -> str:
    """Return `name` if it names a stage; otherwise stop with the list of valid ones."""
    if name not in STAGES:
        # SystemExit, not an exception: manage.py and gunicorn print this one line and
        # stop, where an ImproperlyConfigured would bury it under a traceback.
        raise SystemExit(f"Unknown STAGE {name!r}. Valid stages: {', '.join(STAGES)}.")
    return name


def redis_url() -> str:
    """The Redis that the cached stage uses: REDIS_URL, or the local default."""
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def unavailable(name: str) -> str | None:
    """Why stage `name` cannot be served on this machine, in one line; None if it can.

    Only the cached stage needs more than the database: a Redis that answers at
    REDIS_URL. Nothing is served or written; the check is one PING.
    """
    if check_stage(name) not in CACHED_STAGES:
        return None
    import redis  # here, not at the top: the other stages do without it

    url = redis_url()
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as client:
            client.ping()
    except (redis.RedisError, ValueError) as error:
        # ValueError: a REDIS_URL that is not a Redis URL at all.
        return (
            f"Stage {name!r} needs Redis at {url} ({error}). "
            "Start it (redis-server) or set REDIS_URL."
        )
    return None


def stage_views(name: str):
    """The module of stage `name`'s views: PostViewSet, CommentViewSet, PostCommentList."""
    return import_module(f"stages.{check_stage(name)}")


@dataclass(frozen=True)
class Queries:
    """A request's SQL cost: `fixed` queries plus `per_row` for each row in the response;
    for a cached read, `hit` is the cost when the page comes from the cache, and the rest
    the cost of a miss (the first request, which reads the database)."""

    fixed: int
    per_row: int = 0
    hit: int | None = None

    def for_rows(self, rows: int) -> int:
        return self.fixed + self.per_row * rows

    def __str__(self) -> str:
        cost = str(self.fixed)
        if self.per_row:
            cost = f"{self.fixed} + {'' if self.per_row == 1 else self.per_row}N"
        return cost if self.hit is None else f"{self.hit} or {cost}"


# Queries per request, by endpoint and stage; N is the number of rows the list holds
# (all posts, all comments, or the post's comments). Reads are anonymous: a request
# with a token costs AUTH_QUERIES more (the token lookup). Writes are authenticated,
# so their figures include it. The tests assert every cell at two data sizes, the
# Server-Timing header reports the same count, and the docs quote this table. A
# `cached` cell reads "hit or miss": 0 or 1 means 0 queries when the page is in Redis,
# and the `values` stage's 1 when it is not.
#
# A query is a statement that reads or writes rows (`project.middleware.is_query`).
# Transaction control is not: a write runs in a transaction, which SQLite opens with
# a `BEGIN IMMEDIATE` sent like a query and PostgreSQL opens unseen, and which a test's
# own transaction turns into a SAVEPOINT. Counting those would give one endpoint three
# figures. A write locks the row it changes with the query that reads it (FOR UPDATE),
# so the locks add no query.
AUTH_QUERIES = 1
EXPECTED_QUERIES = {
    "GET /api/posts/": {
        "naive": Queries(1, per_row=1),  # the posts, then each post's author
        "select_related": Queries(1),  # posts JOIN users
        "paginated": Queries(2),  # COUNT(*), then one page of posts JOIN users
        "cursor": Queries(1),  # the page after the cursor, JOIN users: no COUNT(*)
        "values": Queries(1),  # the same query, selecting only the columns shown
        "cached": Queries(1, hit=0),
    },
    "GET /api/posts/{id}/": {
        "naive": Queries(2),  # the post, then its author
        "select_related": Queries(1),
        "paginated": Queries(1),
        "cursor": Queries(1),
        "values": Queries(1),
        "cached": Queries(1, hit=0),
    },
    "GET /api/posts/{id}/comments/": {
        # One more than /api/comments/: the post is looked up first, so that a
        # missing post is a 404 rather than an empty list.
        "naive": Queries(2, per_row=2),  # each comment's author and post
        "select_related": Queries(2),
        "paginated": Queries(3),
        "cursor": Queries(2),
        "values": Queries(2),
        # A hit still looks the post up first: a missing post stays a 404.
        "cached": Queries(2, hit=1),
    },
    "GET /api/comments/": {
        "naive": Queries(1, per_row=2),  # the comments, then each one's author and post
        "select_related": Queries(1),  # comments JOIN users JOIN posts
        "paginated": Queries(2),
        "cursor": Queries(1),
        "values": Queries(1),
        "cached": Queries(1, hit=0),
    },
    "GET /api/comments/{id}/": {
        "naive": Queries(3),
        "select_related": Queries(1),
        "paginated": Queries(1),
        "cursor": Queries(1),
        "values": Queries(1),
        "cached": Queries(1, hit=0),
    },
    "GET /api/health/": {stage: Queries(4) for stage in STAGES},  # four COUNT(*)s
    "POST /api/posts/": {stage: Queries(2) for stage in STAGES},  # token, INSERT
    # The token, the post (locked), the INSERT.
    "POST /api/posts/{id}/comments/": {stage: Queries(3) for stage in STAGES},
    # The token, the post (locked), the UPDATE; then, before `select_related`, the
    # author the response nests.
    "PUT /api/posts/{id}/": {stage: Queries(3) for stage in STAGES} | {"naive": Queries(4)},
    # The token, the post (locked), its N comments in one DELETE, the post.
    "DELETE /api/posts/{id}/": {stage: Queries(4) for stage in STAGES},
    # The token, the comment (locked), the UPDATE; then, before `select_related`, the
    # author and post the response nests.
    "PATCH /api/comments/{id}/": {stage: Queries(3) for stage in STAGES} | {"naive": Queries(5)},
}
