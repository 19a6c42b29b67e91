"""Stage `cursor`: `paginated`, with a cursor that names a row instead of a page number.

Changed from `paginated`: each list view's `pagination_class`. A page is no longer
"count every row, then skip (N-1) x 20 of them" but "the 20 rows after this one":
newest first by `created_at`, ties broken by `id`, 20 rows per page (`?page_size=` up
to 100). A list is now `{next, previous, results}`, and `next` and `previous` are
opaque `?cursor=` links. A list costs 1 query whatever N is and however deep the page
(the nested comments list 2, with the post lookup): no COUNT(*), and no OFFSET rows
for the database to read and throw away. Migration 0002 adds the composite index each
list's order needs, so the database starts at the cursor and reads 21 rows in order.

Why: a page number is a position, and positions move. A post created while a client
reads page 1 pushes page 1's last row onto page 2, where the client sees it again (a
deleted one makes it skip a row); and OFFSET costs more the deeper the page. A cursor
is the last row the client saw, so rows created or deleted meanwhile move nothing.

The trade-off: no `count`, no `?page=N` to jump to, no "last page". A client can only
walk on from where it is, forward or back. A cursor that does not decode, or that
this stage never issued, is a 404 with a message.
"""

from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections import namedtuple
from datetime import UTC, datetime
from urllib import parse

from django.db.models import Q
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.utils.urls import replace_query_param

from blog.pagination import StrictPageSize
from stages import paginated

# The largest id a BigAutoField holds: a cursor beyond it was never issued.
MAX_ID = 2**63 - 1

Position = namedtuple("Position", ["created_at", "id"])
Cursor = namedtuple("Cursor", ["reverse", "position"])


class KeysetPagination(StrictPageSize, CursorPagination):
    """Keyset pagination on (created_at, id), newest first, with DRF's cursor interface.

    DRF's `CursorPagination` filters on the first ordering field only and steps over
    rows with an equal value by an offset. Rows that share a `created_at` (posts
    written in the same microsecond, a bulk import stamped with one time) are then
    counted, not named: a row added to or removed from that group between two
    requests shifts the offset, and a row is repeated or skipped. Here the cursor is
    the last row's (created_at, id), a unique pair, and the next page is every row
    after it: `created_at < c OR (created_at = c AND id < i)`.
    """

    # The index `post_newest_first_idx` (and its comment twins) serves this order.
    # The filter in `_beyond()` is written for it: change both together.
    ordering = ("-created_at", "-id")
    # 20 rows per page; `?page_size=` up to 100, as in `paginated`.
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.cursor = self.decode_cursor(request)
        # `previous` links walk back towards the newest rows: read oldest first from
        # the cursor, then turn the page round.
        reverse = bool(self.cursor and self.cursor.reverse)
        ordering = [f[1:] if f.startswith("-") else f"-{f}" for f in self.ordering]
        queryset = queryset.order_by(*(ordering if reverse else self.ordering))
        if self.cursor:
            queryset = queryset.filter(self._beyond(self.cursor))

        # One row more than a page says whether there is more beyond it, without a COUNT.
        rows = list(queryset[: self.page_size + 1])
        self.page = rows[: self.page_size]
        more = len(rows) > self.page_size
        if reverse:
            self.page.reverse()
        # The side the client came from has rows (it was there); the other side has
        # rows if the extra one came back.
        self.has_next = True if reverse else more
        self.has_previous = more if reverse else self.cursor is not None
        self.display_page_controls = self.has_previous or self.has_next
        return self.page

    @staticmethod
    def _beyond(cursor):
        """The rows after `cursor` in its direction. `created_at <= c` repeats what the
        OR implies, so that the database can seek the index to `c` instead of reading
        every newer row and filtering them out."""
        created_at, pk = cursor.position
        if cursor.reverse:
            return Q(created_at__gte=created_at) & (
                Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=pk)
            )
        return Q(created_at__lte=created_at) & (
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk)
        )

    def get_next_link(self):
        if not self.has_next:
            return None
        # After the last row shown; after the cursor itself if nothing was left.
        position = self._position(self.page[-1]) if self.page else self.cursor.position
        return self.encode_cursor(Cursor(reverse=False, position=position))

    def get_previous_link(self):
        if not self.has_previous:
            return None
        position = self._position(self.page[0]) if self.page else self.cursor.position
        return self.encode_cursor(Cursor(reverse=True, position=position))

    def encode_cursor(self, cursor):
        encoded = urlsafe_b64encode(self._querystring(cursor).encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            querystring = urlsafe_b64decode(encoded.encode("ascii")).decode("ascii")
            tokens = dict(parse.parse_qsl(querystring, strict_parsing=True))
            created_at = datetime.fromisoformat(tokens["t"])
            cursor = Cursor(
                reverse=tokens.get("r") == "1",
                position=Position(created_at, int(tokens["i"])),
            )
            # Only what encode_cursor() writes is a cursor: a UTC time, an id a row can
            # have, and nothing else. Anything else was tampered with.
            if (
                created_at.utcoffset() is None
                or not 1 <= cursor.position.id <= MAX_ID
                or self._querystring(cursor) != querystring
            ):
                raise ValueError(querystring)
        except (KeyError, TypeError, ValueError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None
        return cursor

    @staticmethod
    def _querystring(cursor):
        created_at, pk = cursor.position
        tokens = {"t": created_at.astimezone(UTC).isoformat(), "i": pk}
        if cursor.reverse:
            tokens["r"] = "1"
        return parse.urlencode(tokens)

    @staticmethod
    def _position(row):
        return Position(row.created_at, row.id)


class PostViewSet(paginated.PostViewSet):
    pagination_class = KeysetPagination


class CommentViewSet(paginated.CommentViewSet):
    pagination_class = KeysetPagination


class PostCommentList(paginated.PostCommentList):
    pagination_class = KeysetPagination
