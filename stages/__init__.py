"""The optimisation journey: the same API at each step, and what each step costs in queries.

`STAGE` (read once, in `project/settings.py`) names one of `STAGES`; `project/urls.py`
serves that stage's views, which live in the module of the same name here. Each stage
module subclasses the previous stage's views and overrides only `get_queryset()` or
`pagination_class`, so the module is the whole step: read it rather than a diff against
the previous module, which would show the code it inherits as removed.

This package imports nothing from Django, so that settings can check a stage's name
before any app is loaded.
"""

from dataclasses import dataclass
from importlib import import_module

# In journey order: each stage builds on the one before it.
STAGES = ("naive", "select_related", "paginated", "cursor")
DEFAULT_STAGE = "naive"


def check_stage(name: str) -> str:
    """Return `name` if it names a stage; otherwise stop with the list of valid ones."""
    if name not in STAGES:
        # SystemExit, not an exception: manage.py and gunicorn print this one line and
        # stop, where an ImproperlyConfigured would bury it under a traceback.
        raise SystemExit(f"Unknown STAGE {name!r}. Valid stages: {', '.join(STAGES)}.")
    return name


def stage_views(name: str):
    """The module of stage `name`'s views: PostViewSet, CommentViewSet, PostCommentList."""
    return import_module(f"stages.{check_stage(name)}")


@dataclass(frozen=True)
class Queries:
    """A request's SQL cost: `fixed` queries plus `per_row` for each row in the response."""

    fixed: int
    per_row: int = 0

    def for_rows(self, rows: int) -> int:
        return self.fixed + self.per_row * rows

    def __str__(self) -> str:
        if not self.per_row:
            return str(self.fixed)
        return f"{self.fixed} + {'' if self.per_row == 1 else self.per_row}N"


# Queries per request, by endpoint and stage; N is the number of rows the list holds
# (all posts, all comments, or the post's comments). Reads are anonymous: a request
# with a token costs AUTH_QUERIES more (the token lookup). Writes are authenticated,
# so their figures include it. The tests assert every cell at two data sizes, the
# Server-Timing header reports the same count, and the docs quote this table.
AUTH_QUERIES = 1
EXPECTED_QUERIES = {
    "GET /api/posts/": {
        "naive": Queries(1, per_row=1),  # the posts, then each post's author
        "select_related": Queries(1),  # posts JOIN users
        "paginated": Queries(2),  # COUNT(*), then one page of posts JOIN users
        "cursor": Queries(1),  # the page after the cursor, JOIN users: no COUNT(*)
    },
    "GET /api/posts/{id}/": {
        "naive": Queries(2),  # the post, then its author
        "select_related": Queries(1),
        "paginated": Queries(1),
        "cursor": Queries(1),
    },
    "GET /api/posts/{id}/comments/": {
        # One more than /api/comments/: the post is looked up first, so that a
        # missing post is a 404 rather than an empty list.
        "naive": Queries(2, per_row=2),  # each comment's author and post
        "select_related": Queries(2),
        "paginated": Queries(3),
        "cursor": Queries(2),
    },
    "GET /api/comments/": {
        "naive": Queries(1, per_row=2),  # the comments, then each one's author and post
        "select_related": Queries(1),  # comments JOIN users JOIN posts
        "paginated": Queries(2),
        "cursor": Queries(1),
    },
    "GET /api/comments/{id}/": {
        "naive": Queries(3),
        "select_related": Queries(1),
        "paginated": Queries(1),
        "cursor": Queries(1),
    },
    "GET /api/health/": {stage: Queries(4) for stage in STAGES},  # four COUNT(*)s
    "POST /api/posts/": {stage: Queries(2) for stage in STAGES},  # token, INSERT
    # The token, the post, the INSERT.
    "POST /api/posts/{id}/comments/": {stage: Queries(3) for stage in STAGES},
}
