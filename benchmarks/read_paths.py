"""Which read path to take after `cursor`? Every candidate, measured in one run.

Each candidate serves the five read endpoints with the `cursor` stage's queries and
pagination, and differs only in how rows become JSON:

- `cursor`: the stage as it is, DRF's ModelSerializer and `json.dumps`;
- renderer only: the same serializers, JSON written by orjson (this repository's
  renderer, `stages/values.py`, or the drf-orjson-renderer package);
- serializer built once: ModelSerializer's fields built once per process instead of
  once per request (one instance reused; not thread-safe, so a measurement only);
- row functions: a small function per resource turns a row into its JSON object, from
  model instances or from `values_list()` rows, written by `json.dumps`, msgspec or
  orjson. The last of these is the `values` stage; and that stage again, with each
  view's `values_list()` queryset built once instead of on every request;
- the `cached` stage, with every read a hit, and with every read a miss.

The data: a new SQLite database with 5,000 posts and 5,000 comments (`--posts`), plus
one post and comment whose text holds what JSON encoders disagree on (U+2028, control
characters, emoji), so that "same JSON" is tested where it can fail. Requests go to the
WSGI application in this process (see benchmarks/inprocess.py), interleaved: each round
runs every candidate and endpoint once, in a new random order, `--repeat` requests
each. The tables give the CPU time per request, the median over `--rounds` rounds, and
the trivial endpoint's time divided by each: the share of the trivial view's
throughput that a worker busy with this request alone would reach, before what the
server adds to every request (HTTP, gunicorn) dilutes the difference. Figures from one
run on one machine: compare within a run, not across runs.

    .venv/bin/pip install -r benchmarks/requirements.txt   # msgspec, drf-orjson-renderer
    .venv/bin/python benchmarks/read_paths.py [--posts 5000] [--rounds 30] [--repeat 20]

Candidates whose package is not installed are listed as skipped; the cached ones need
Redis at REDIS_URL.
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
from collections import defaultdict, namedtuple
from itertools import count

import inprocess

LS, PS = b"\xe2\x80\xa8", b"\xe2\x80\xa9"
AWKWARD = 'A "line"\u2028and a paragraph\u2029, a tab\t, a bell\x07, </script>, é, 😀'


def build_candidates():
    """(name, (PostViewSet, CommentViewSet, PostCommentList)) for each candidate, and
    the names skipped, with why."""
    from rest_framework import renderers
    from rest_framework.response import Response

    from stages import cached, cursor, unavailable, values

    def views(name, mixin=None, **attributes):
        """The three views of `cursor` or `values` (by `name`), with a mixin and attributes."""
        base = {"cursor": cursor, "values": values, "cached": cached}[name]
        made = []
        for view in (base.PostViewSet, base.CommentViewSet, base.PostCommentList):
            bases = (mixin, view) if mixin else (view,)
            made.append(type(view.__name__, bases, dict(attributes)))
        return tuple(made)

    skipped = {}
    candidates = [("cursor: ModelSerializer, json.dumps", views("cursor"))]
    candidates.append(
        (
            "cursor, orjson renderer (stages/values.py)",
            views("cursor", renderer_classes=[values.JSONRenderer, renderers.BrowsableAPIRenderer]),
        )
    )
    try:
        from drf_orjson_renderer.renderers import ORJSONRenderer

        candidates.append(
            (
                "cursor, drf-orjson-renderer",
                views("cursor", renderer_classes=[ORJSONRenderer, renderers.BrowsableAPIRenderer]),
            )
        )
    except ImportError:
        skipped["cursor, drf-orjson-renderer"] = "pip install drf-orjson-renderer"

    class SerializerBuiltOnce:
        """ModelSerializer's fields built once per process: one serializer instance,
        reused, with this request's context. Not thread-safe."""

        built = {}

        def serialize(self, objects):
            serializer = self.built.get(type(self))
            if serializer is None:
                serializer = self.built[type(self)] = self.get_serializer_class()()
            serializer._context = self.get_serializer_context()
            return [serializer.to_representation(obj) for obj in objects]

        def list(self, request, *args, **kwargs):
            page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
            return self.get_paginated_response(self.serialize(page))

        def retrieve(self, request, *args, **kwargs):
            return Response(self.serialize([self.get_object()])[0])

    candidates.append(("cursor, serializer built once", views("cursor", SerializerBuiltOnce)))

    # The row functions of `values`, fed a model instance (select_related) read as a row.
    post_row = namedtuple("PostRow", values.POST_COLUMNS)
    comment_row = namedtuple("CommentRow", values.COMMENT_COLUMNS)

    def post_from_instance(post, url, tz):
        row = post_row(
            post.id, post.title, post.body, post.created_at, post.user_id, post.user.username
        )
        return values.post_json(row, url, tz)

    def comment_from_instance(comment, url, tz):
        row = comment_row(
            comment.id,
            comment.body,
            comment.created_at,
            comment.user_id,
            comment.user.username,
            comment.post_id,
            comment.post.title,
        )
        return values.comment_json(row, url, tz)

    class Instances:
        """The row functions, fed model instances (select_related) instead of rows."""

        def rows(self):
            return self.filter_queryset(self.get_queryset())

    stdlib = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer]
    post_views, comment_views, nested_views = views("values", Instances, renderer_classes=stdlib)
    candidates.append(
        (
            "instances, row functions, json.dumps",
            (
                type("PostViewSet", (post_views,), {"to_json": staticmethod(post_from_instance)}),
                type(
                    "CommentViewSet",
                    (comment_views,),
                    {"to_json": staticmethod(comment_from_instance)},
                ),
                type(
                    "PostCommentList",
                    (nested_views,),
                    {"to_json": staticmethod(comment_from_instance)},
                ),
            ),
        )
    )
    candidates.append(
        ("values_list, row functions, json.dumps", views("values", renderer_classes=stdlib))
    )
    try:
        import msgspec
        from rest_framework.utils.encoders import JSONEncoder

        class MsgspecRenderer(renderers.JSONRenderer):
            """DRF's JSON renderer, encoding with msgspec as values.JSONRenderer does."""

            encoder = msgspec.json.Encoder(enc_hook=JSONEncoder().default)

            def render(self, data, accepted_media_type=None, renderer_context=None):
                if data is None or self.get_indent(accepted_media_type, renderer_context or {}):
                    return super().render(data, accepted_media_type, renderer_context)
                return self.encoder.encode(data).replace(LS, b"\\u2028").replace(PS, b"\\u2029")

        candidates.append(
            (
                "values_list, row functions, msgspec",
                views("values", renderer_classes=[MsgspecRenderer, renderers.BrowsableAPIRenderer]),
            )
        )
    except ImportError:
        skipped["values_list, row functions, msgspec"] = "pip install msgspec"
    candidates.append(("values_list, row functions, orjson = stage `values`", views("values")))

    class RowsBuiltOnce:
        """`values_list()` built once per view class, as DRF's `queryset` attribute is,
        instead of from get_queryset() on every request."""

        built = {}

        def rows(self):
            rows = self.built.get(type(self))
            if rows is None:
                model = self.get_queryset().model
                rows = self.built[type(self)] = model.objects.values_list(*self.columns, named=True)
            parent = getattr(self, "parent_post", None)
            return rows.filter(post=parent) if parent else rows.all()

    candidates.append(("stage `values`, values_list built once", views("values", RowsBuiltOnce)))
    reason = unavailable("cached")
    if reason:
        skipped["stage `cached`"] = reason
    else:
        candidates.append(("stage `cached`, every read a hit", views("cached")))
        candidates.append(("stage `cached`, every read a miss", views("cached")))
    return candidates, skipped


def mount_candidates(candidates):
    """Serve candidate i's views under /candidates/<i>/, with the API's paths below it."""
    from django.urls import path

    patterns = [path("candidates/trivial/", inprocess.trivial_view())]
    for i, (_, (posts, comments, nested)) in enumerate(candidates):
        prefix = f"candidates/{i}/"
        patterns += [
            path(f"{prefix}posts/", posts.as_view({"get": "list"})),
            path(f"{prefix}posts/<int:pk>/", posts.as_view({"get": "retrieve"})),
            path(f"{prefix}comments/", comments.as_view({"get": "list"})),
            path(f"{prefix}comments/<int:pk>/", comments.as_view({"get": "retrieve"})),
            path(f"{prefix}posts/<int:post_pk>/comments/", nested.as_view()),
        ]
    inprocess.mount(patterns)


def add_awkward_rows():
    """The newest post and comment, with text that JSON encoders disagree on."""
    from django.contrib.auth import get_user_model

    from blog.models import Comment, Post

    user = get_user_model().objects.get(username="user1")
    post = Post.objects.create(user=user, title=AWKWARD[:100], body=AWKWARD)
    Comment.objects.create(user=user, post=post, body=AWKWARD)


def same_json(candidates, endpoints):
    """For each candidate, the checks whose bytes differ from `cursor`'s (empty: none).
    Checks: every endpoint, the lists' second page, 100 rows, and indented JSON."""
    checks = []
    for name, path in endpoints.items():
        checks.append((name, path, "", {}))
    checks.append(
        ("indented", endpoints["posts list"], "", {"Accept": "application/json; indent=4"})
    )
    checks.append(("100 rows", endpoints["comments list"], "page_size=100", {}))

    def fetch(i, path, query, headers):
        prefix = f"/candidates/{i}/"
        status, body, _ = inprocess.get(path.replace("/api/", prefix, 1), query, headers)
        return status, body.replace(prefix.encode(), b"/api/")

    differs = defaultdict(list)
    for label, path, query, headers in checks:
        expected = fetch(0, path, query, headers)
        assert expected[0] == 200, (label, expected)
        for i in range(1, len(candidates)):
            if fetch(i, path, query, headers) != expected:
                differs[i].append(label)
    # The second page, through each candidate's own next link.
    for label in ("posts list", "comments list"):
        for i in range(len(candidates)):
            first = fetch(i, endpoints[label], "", {})[1]
            next_link = json.loads(first)["next"]
            query = next_link.partition("?")[2]
            body = fetch(i, endpoints[label], query, {})
            if i == 0:
                expected = body
            elif body != expected:
                differs[i].append(f"{label}, page 2")
    return differs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--posts", type=int, default=5000, help="posts and comments to seed (default 5000)"
    )
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds (default 30)")
    parser.add_argument(
        "--repeat", type=int, default=20, help="requests per endpoint per round (default 20)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the order (default 1)")
    args = parser.parse_args()

    inprocess.setup(args.posts, args.posts)
    add_awkward_rows()
    candidates, skipped = build_candidates()
    mount_candidates(candidates)
    endpoints = inprocess.endpoints()
    differs = same_json(candidates, endpoints)

    misses = count()
    cells = [("trivial view", None, "/candidates/trivial/")]
    for i, (name, _) in enumerate(candidates):
        for endpoint, path in endpoints.items():
            cells.append((name, endpoint, path.replace("/api/", f"/candidates/{i}/", 1)))
    order = random.Random(args.seed)
    # Warm every cell (and fill the cache for the hits) before timing.
    for _, _, path in cells:
        inprocess.per_request_ms(path, repeat=3)
    times = defaultdict(list)
    for _ in range(args.rounds):
        order.shuffle(cells)
        for name, endpoint, path in cells:
            if name.endswith("a miss"):
                # A new URL each time: the page is not in the cache, so the candidate
                # reads the database, renders and stores, as on any miss.
                ms = statistics.mean(
                    inprocess.per_request_ms(path, f"miss={next(misses)}", repeat=1)
                    for _ in range(args.repeat)
                )
            else:
                ms = inprocess.per_request_ms(path, repeat=args.repeat)
            times[name, endpoint].append(ms)
    trivial = statistics.median(times["trivial view", None])

    import django

    print(
        f"In-process read cost, {args.posts:,} posts and {args.posts:,} comments (SQLite), "
        f"{args.rounds} interleaved rounds x {args.repeat} requests; "
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs."
    )
    print(f"Trivial DRF view: {trivial:.2f} CPU ms per request.\n")
    names = list(endpoints)
    print("CPU milliseconds per request (median of rounds):\n")
    print("| candidate | " + " | ".join(names) + " | same JSON as `cursor` |")
    print("|---|" + "--:|" * len(names) + "---|")
    for i, (name, _) in enumerate(candidates):
        ms = [statistics.median(times[name, e]) for e in names]
        same = "yes" if not differs.get(i) else "no: " + ", ".join(differs[i])
        print(f"| {name} | " + " | ".join(f"{m:.2f}" for m in ms) + f" | {same} |")
    print("\nShare of the trivial view's throughput (its CPU time / the candidate's):\n")
    print("| candidate | " + " | ".join(names) + " |")
    print("|---|" + "--:|" * len(names))
    for name, _ in candidates:
        shares = [trivial / statistics.median(times[name, e]) for e in names]
        print(f"| {name} | " + " | ".join(f"{s:.0%}" for s in shares) + " |")
    for name, why in skipped.items():
        print(f"\nSkipped {name}: {why}")


if __name__ == "__main__":
    sys.exit(main())
