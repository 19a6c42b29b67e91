"""Stage `naive`: the API as a first draft writes it.

Every list returns every row, and each row's nested author (and, for comments, post)
is fetched lazily, one query at a time, while the serializer renders it:

- posts list: 1 + N queries (the posts, then one author per post);
- comments list: 1 + 2N queries (the comments, then one author and one post each).

The responses are correct. Their cost grows with the table, which is what a load
test shows and a test against ten rows does not.
"""

from blog.views import CommentViewSet, PostCommentList, PostViewSet

__all__ = ["CommentViewSet", "PostCommentList", "PostViewSet"]
