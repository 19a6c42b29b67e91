"""The endpoints a load run reports on, by the names its rows go under.

Locust groups requests by the `name=` the locustfile gives them, so /api/posts/17/
and /api/posts/42/ are one row, `/api/posts/[id]/`. A sample (samples.py) is named
`"<METHOD> <name>"`, and the report, the writes audit and the tests find their rows by
those names: here is the one place they are spelled. This module imports no Locust
(which patches threading with gevent on import), so Django commands can use it too.
"""

# The `name=` of each URL the locustfile requests.
TOKEN = "/api/auth/token/"
POSTS = "/api/posts/"
POST = "/api/posts/[id]/"
POST_COMMENTS = "/api/posts/[id]/comments/"
COMMENTS = "/api/comments/"


def row(method: str, name: str) -> str:
    """The name of a sample, and of its report row: `row("GET", POSTS)` is "GET /api/posts/"."""
    return f"{method} {name}"


LOGIN = row("POST", TOKEN)
# The writes the writers' journey makes, which the writes audit reconciles.
CREATE_POST = row("POST", POSTS)
CREATE_COMMENT = row("POST", POST_COMMENTS)
EDIT_POST = (row("PUT", POST), row("PATCH", POST))
DELETE_POST = row("DELETE", POST)
# What each kind of row is created by: the endpoint whose 201 means one more row.
CREATED_BY = {"posts": CREATE_POST, "comments": CREATE_COMMENT}
# Every row the locustfile's journeys produce: a login, a reader's visit, a writer's.
JOURNEYS = frozenset(
    {
        LOGIN,
        row("GET", POSTS),
        row("GET", POST),
        row("GET", POST_COMMENTS),
        row("GET", COMMENTS),
        *CREATED_BY.values(),
        *EDIT_POST,
        DELETE_POST,
    }
)
