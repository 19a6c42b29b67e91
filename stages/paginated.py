"""Stage `paginated`: `select_related`, and lists served a page at a time.

Changed from `select_related`: each list view gets a `pagination_class`. A list is
now `{count, next, previous, results}` with 20 rows per page (`?page=N`,
`?page_size=` up to 100), and costs 2 queries whatever N is: a COUNT(*) for `count`
and the page itself (the nested comments list 3, with the post lookup). Work per
request no longer grows with the table. A page past the end, or a page that is not
a number, is a 404 with a message; a `page_size` that is not a whole number from 1
up, a 400 (see `blog/pagination.py`).

For API clients this is a breaking change: they must follow `next` to see every row.
"""

from rest_framework.pagination import PageNumberPagination

from blog.pagination import StrictPageSize
from stages import select_related


class Pagination(StrictPageSize, PageNumberPagination):
    """Page-number pagination: `?page=N`, and `?page_size=` capped so no client can
    ask for the whole table again."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class PostViewSet(select_related.PostViewSet):
    pagination_class = Pagination


class CommentViewSet(select_related.CommentViewSet):
    pagination_class = Pagination


class PostCommentList(select_related.PostCommentList):
    pagination_class = Pagination
