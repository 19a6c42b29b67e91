"""Stage `values`: `cursor`, with reads that skip the serializer.

Changed from `cursor`: each view's `list()` (and `retrieve()`) reads only the columns a
response shows, as plain rows (`values_list()`), and turns each row into its JSON
object with a small function written for it, instead of a `ModelSerializer`; a
renderer backed by orjson writes the JSON. The queries are the same ones: a list costs
1 query (the nested comments list 2, with the post lookup), a detail 1. Writes keep
DRF's serializers and their validation, unchanged.

Why: at `cursor` the SQL is well under a millisecond of a request, and the rest is
Python. A profile of the reads (`benchmarks/profile_reads.py`) puts most of it in the
serializer: DRF builds each `ModelSerializer`'s fields on every request, then for
every field of every row reads the relation through the ORM, reverses a URL, formats a
date. Of the ways to cut that, measured side by side (`benchmarks/read_paths.py`),
plain rows and a function per resource remove most of it; orjson a little more; a
faster renderer alone, or a serializer built once, much less. The responses are the
same JSON, byte for byte: same fields, order, `url`s, date format and page links
(tests compare them with `cursor`'s).

The trade-off: a row function is a second copy of its serializer's output. Change a
serializer's fields and you must change its row function too; the tests that compare
the two stages say when they drift.
"""

import orjson
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import renderers
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.utils.encoders import JSONEncoder

from stages import cursor


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer with orjson doing the encoding: the same bytes, faster.

    DRF writes compact UTF-8 JSON, dates as ISO 8601 with `Z` for UTC, and escapes
    U+2028 and U+2029 (legal in JSON, not in JavaScript); so does this. Indented JSON
    (the browsable API, `Accept: application/json; indent=4`) and anything orjson will
    not encode (an integer beyond 64 bits) are left to DRF's renderer.
    """

    # What orjson cannot encode itself (lazy translations, decimals) goes to DRF's encoder.
    default = staticmethod(JSONEncoder().default)

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None or self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            content = orjson.dumps(data, default=self.default, option=orjson.OPT_UTC_Z)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        return content.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")


def detail_urls(view, view_name):
    """A function `pk -> URL of view_name`, the URL HyperlinkedIdentityField writes, built
    with one reverse per request instead of one per row."""
    marker = str(2**62)  # an id no row has, to cut the reversed URL around
    url = reverse(view_name, kwargs={"pk": marker}, request=view.request, format=view.format_kwarg)
    head, _, tail = url.rpartition(marker)
    return lambda pk: f"{head}{pk}{tail}"


# The columns each response shows, and the function that turns one row of them into
# what the serializer in blog/serializers.py makes of the same object.
POST_COLUMNS = ("id", "title", "body", "created_at", "user_id", "user__username")
COMMENT_COLUMNS = (
    "id",
    "body",
    "created_at",
    "user_id",
    "user__username",
    "post_id",
    "post__title",
)


def post_json(row, url, tz):
    """PostSerializer's output, from a row of POST_COLUMNS."""
    return {
        "id": row.id,
        "url": url(row.id),
        "title": row.title,
        "body": row.body,
        "user": {"id": row.user_id, "username": row.user__username},
        # In the current time zone, as DRF's DateTimeField gives it; the renderer formats it.
        "created_at": row.created_at.astimezone(tz),
    }


def comment_json(row, url, tz):
    """CommentSerializer's output, from a row of COMMENT_COLUMNS."""
    return {
        "id": row.id,
        "url": url(row.id),
        "body": row.body,
        "user": {"id": row.user_id, "username": row.user__username},
        "post": {"id": row.post_id, "title": row.post__title},
        "created_at": row.created_at.astimezone(tz),
    }


class RowReads:
    """`list()` and `retrieve()` from plain rows: `columns` of `get_queryset()`, each
    turned into JSON by `to_json`, with `url`s to `detail_view`."""

    renderer_classes = [JSONRenderer, renderers.BrowsableAPIRenderer]
    columns: tuple[str, ...]
    to_json = None
    detail_view: str

    def rows(self):
        queryset = self.filter_queryset(self.get_queryset())
        return queryset.values_list(*self.columns, named=True)

    def as_json(self, rows):
        url, tz = detail_urls(self, self.detail_view), timezone.get_current_timezone()
        return [self.to_json(row, url, tz) for row in rows]

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.rows())
        return self.get_paginated_response(self.as_json(page))

    def retrieve(self, request, *args, **kwargs):
        lookup = {self.lookup_field: kwargs[self.lookup_url_kwarg or self.lookup_field]}
        row = get_object_or_404(self.rows(), **lookup)
        self.check_object_permissions(request, row)
        return Response(self.as_json([row])[0])


class PostViewSet(RowReads, cursor.PostViewSet):
    columns, to_json, detail_view = POST_COLUMNS, staticmethod(post_json), "post-detail"


class CommentViewSet(RowReads, cursor.CommentViewSet):
    columns, to_json, detail_view = COMMENT_COLUMNS, staticmethod(comment_json), "comment-detail"


class PostCommentList(RowReads, cursor.PostCommentList):
    columns, to_json, detail_view = COMMENT_COLUMNS, staticmethod(comment_json), "comment-detail"
