"""Stage `cached`: `values`, with each page kept in Redis until a write changes it.

Changed from `values`: each read first looks for its page in Redis (Django's cache
framework, with django-redis), and each write says, once it has committed, which pages
it has changed. A page found in Redis is answered with no query. A list costs
0 or 1 queries: 0 on a hit; on a miss the `values` stage's 1, and the page is stored.
A detail too; the nested comments list 1 or 2, because it looks its post up first, so
that a missing post stays a 404. Responses carry an `ETag`; a client that sends it
back in `If-None-Match` gets a 304 with no body. `Server-Timing` says
`cache;desc="hit"` or `"miss"` next to the SQL figures.

How a write invalidates: every page belongs to a scope ("posts": the post lists;
"post:<id>": one post and its comments list; "comments": the comment lists and
details), and each scope has a version, a random number in Redis. A page is stored
with the versions it was read under, and served only while they are current: giving
a scope a new version retires all its pages at once, on every server. A new post
changes "posts"; an edit or a delete of a post changes "comments" too (a comment
shows its post's title); a comment changes "comments" and its post's scope. One
more version, "start", changes when a server process starts, so that pages cached
before (by older code, or before the data was written at another stage or re-seeded)
are never served. A read fetches its versions and its page in one round trip.

Why it never serves a stale page: a reader reads the versions before it reads the
database, and a writer gives out new versions after its transaction has committed
(`transaction.on_commit`). A page read before a write committed carries versions that
the write then replaces, so no later reader serves it. A client that got a write's
2xx reads what it wrote, from any worker. Writes that bypass the API (the admin, a
shell) change no version: pages expire after 5 minutes (settings.CACHES).

The trade-off: a second service to run, and every write has to name what it changes;
forget one and readers see old data, which no query count reveals.
"""

import hashlib
import logging
import secrets
import time

from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from django_redis.exceptions import ConnectionInterrupted
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from redis import RedisError
from rest_framework.settings import api_settings

from stages import values

logger = logging.getLogger(__name__)
# What Redis being away raises: django-redis wraps most calls' errors, not get_many's.
UNREACHABLE = (ConnectionInterrupted, RedisError)
# Versions expire like pages, 5 minutes after they were set (settings.CACHES): a scope
# whose version has gone starts again with a new one, and its pages miss once.
_started = False


def new_version() -> int:
    # Random, not a counter: a version once retired is never current again, even if
    # Redis loses its keys and a reader starts the scope anew.
    return secrets.randbits(63)


def page_and_versions(page_key, scopes):
    """(the page stored under `page_key` or None, the current versions of `scopes` and
    of "start"), in one round trip. A scope Redis does not know (never written, or
    evicted) gets a first version."""
    global _started
    if not _started:  # this process's first read: retire the pages of earlier ones
        cache.set("version:start", new_version())
        _started = True
    keys = [f"version:{scope}" for scope in ("start", *scopes)]
    found = cache.get_many([*keys, page_key])
    for key in keys:
        if key not in found:
            first = new_version()
            cache.add(key, first)  # unless another reader has just done so
            found[key] = cache.get(key, first)
    return found.get(page_key), tuple(found[key] for key in keys)


def changed(*scopes):
    """Once the write in progress commits, give each of `scopes` a new version.

    Robust: a write that has committed is a success even if Redis is down then (the
    error is logged). Its pages are then stale until they expire (settings.CACHES).
    """

    def bump():
        cache.set_many({f"version:{scope}": new_version() for scope in scopes})

    transaction.on_commit(bump, robust=True)


class CachedSchema(api_settings.DEFAULT_SCHEMA_CLASS):
    """The project's schema of an operation, plus what a cached read adds: the `ETag`
    it answers with, and the 304 for a client that sends it back in `If-None-Match`."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method != "GET":
            return parameters
        return [
            *parameters,
            OpenApiParameter(
                "If-None-Match",
                str,
                OpenApiParameter.HEADER,
                description="The ETag of the copy you have: a 304 if the page is the same.",
            ),
            OpenApiParameter(
                "ETag", str, OpenApiParameter.HEADER, response=[200, 304], description="The page's."
            ),
        ]

    def get_response_serializers(self):
        responses = super().get_response_serializers()
        if self.method == "GET":
            responses[304] = OpenApiResponse(
                description="Not modified: If-None-Match has the ETag."
            )
        return responses


class CachedReads:
    """Reads answered from the cache when their page is there; the page stored when not.

    Only plain JSON GETs are cached: the browsable API and indented JSON are served
    from the database, as at the `values` stage.
    """

    schema = CachedSchema()
    # The scope of a list's pages, and of a detail's, filled in from the URL's ids.
    list_scope: str
    detail_scope: str

    page = None  # on a miss, where to store the page and with which versions
    # For Server-Timing: "hit", "miss", or "error" when Redis did not answer and the
    # database did; None for a request the cache is not for.
    cache_status = None
    cache_seconds = 0.0

    def cached_page(self, request, *scopes):
        """The response from the cache for this request, or None (then read on)."""
        renderer = request.accepted_renderer
        plain_json = (
            renderer.format == "json" and request.accepted_media_type == renderer.media_type
        )
        if request.method != "GET" or not plain_json:
            return None
        start = time.perf_counter()
        url = hashlib.blake2b(request.build_absolute_uri().encode(), digest_size=16)
        key = f"page:{url.hexdigest()}"
        try:
            # The versions before the database: see the module's docstring.
            page, versions = page_and_versions(key, scopes)
        except UNREACHABLE as error:
            # A cache must not take the API down: the database answers instead.
            logger.warning("Redis did not answer (%s): read from the database", error)
            self.cache_status = "error"
            return None
        finally:
            self.cache_seconds += time.perf_counter() - start
        if page is None or page[0] != versions:
            self.page, self.cache_status = (key, versions), "miss"
            return None
        self.cache_status = "hit"
        _, etag, content = page
        response = HttpResponse(content, content_type=renderer.media_type)
        response["ETag"] = etag
        return get_conditional_response(request, etag=etag, response=response)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.page is not None and response.status_code == 200:
            response.render()
            etag = f'"{hashlib.blake2b(response.content, digest_size=16).hexdigest()}"'
            key, versions = self.page
            start = time.perf_counter()
            try:
                cache.set(key, (versions, etag, response.content))
            except UNREACHABLE as error:
                logger.warning("Redis did not answer (%s): page not stored", error)
            self.cache_seconds += time.perf_counter() - start
            response["ETag"] = etag
            response = get_conditional_response(request, etag=etag, response=response)
        if self.cache_status:
            response["Server-Timing"] = (
                f'cache;dur={self.cache_seconds * 1000:.1f};desc="{self.cache_status}"'
            )
        return response

    def list(self, request, *args, **kwargs):
        page = self.cached_page(request, self.list_scope.format(**kwargs))
        return page if page is not None else super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        page = self.cached_page(request, self.detail_scope.format(**kwargs))
        return page if page is not None else super().retrieve(request, *args, **kwargs)


class PostViewSet(CachedReads, values.PostViewSet):
    list_scope, detail_scope = "posts", "post:{pk}"

    def perform_create(self, serializer):
        super().perform_create(serializer)
        changed("posts", f"post:{serializer.instance.pk}")

    def perform_update(self, serializer):
        super().perform_update(serializer)
        changed("posts", f"post:{serializer.instance.pk}", "comments")

    def perform_destroy(self, instance):
        pk = instance.pk  # Django clears it on delete
        super().perform_destroy(instance)
        changed("posts", f"post:{pk}", "comments")


class CommentViewSet(CachedReads, values.CommentViewSet):
    # A comment shows its post's title: any write to comments or posts may change it.
    list_scope = detail_scope = "comments"

    def perform_update(self, serializer):
        super().perform_update(serializer)
        changed("comments", f"post:{serializer.instance.post_id}")

    def perform_destroy(self, instance):
        post_id = instance.post_id
        super().perform_destroy(instance)
        changed("comments", f"post:{post_id}")


class PostCommentList(CachedReads, values.PostCommentList):
    list_scope = "post:{post_pk}"

    def perform_create(self, serializer):
        super().perform_create(serializer)
        changed("comments", f"post:{self.parent_post.pk}")
