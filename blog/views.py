"""The API's views as a first draft writes them: correct, and slow at scale.

These are the `naive` stage. Later stages (see `stages/`) subclass them and override
`get_queryset()` or `pagination_class`; nothing here knows which stage is served.
"""

from django.db import transaction
from rest_framework import generics, mixins, permissions, viewsets

from .models import Comment, Post
from .permissions import IsAuthorOrReadOnly
from .serializers import CommentSerializer, PostSerializer


class WritesTakeTurns:
    """Each write is one transaction that locks the rows it reads before it changes them,
    so that concurrent writes to the same post take turns instead of interleaving.

    Without it, a write reads its row, then writes, and another request can slip in
    between. An edit whose post was deleted meanwhile matches no row, and Django's
    `Model.save()` then INSERTs it back; a comment is inserted after its post is deleted;
    a comment lands between the cascade's DELETE of the post's comments and the post's
    own DELETE. On PostgreSQL the row is locked by the query that reads it (`SELECT ...
    FOR UPDATE OF` the view's own table, not the joined author), so the lock costs no
    query; a request that waited for a delete then finds no row, which is a 404. SQLite
    has no row locks, but its transactions start with `BEGIN IMMEDIATE` (see settings),
    which takes the database's write lock before the first read, so write transactions
    run one at a time.
    """

    def dispatch(self, request, *args, **kwargs):
        if request.method in permissions.SAFE_METHODS:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            # DRF turns errors into responses, so the block ends normally: a refused
            # write must still leave nothing behind.
            if response.status_code >= 400:
                transaction.set_rollback(True)
            return response

    def locked(self, queryset):
        """`queryset`, locking the rows it reads until the write commits."""
        if self.request.method in permissions.SAFE_METHODS:
            return queryset
        return queryset.select_for_update(of=("self",))

    def get_queryset(self):
        return self.locked(super().get_queryset())


class PostViewSet(WritesTakeTurns, viewsets.ModelViewSet):
    """Posts: anyone reads; a signed-in user creates; only the author edits or deletes."""

    queryset = Post.objects.all()
    serializer_class = PostSerializer
    # Ids in the URL are plain digits (<int:>): int() alone would also read "1_0" or "١".
    lookup_value_converter = "int"
    permission_classes = [permissions.IsAuthenticatedOrReadOnly, IsAuthorOrReadOnly]

    def perform_create(self, serializer):
        serializer.save(user=self.request.user)


class CommentViewSet(
    WritesTakeTurns,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """All comments: anyone reads; only the author edits or deletes. New comments are
    posted to their post, at /api/posts/{id}/comments/."""

    queryset = Comment.objects.all()
    serializer_class = CommentSerializer
    lookup_value_converter = "int"  # as for posts
    permission_classes = [permissions.IsAuthenticatedOrReadOnly, IsAuthorOrReadOnly]


class PostCommentList(WritesTakeTurns, generics.ListCreateAPIView):
    """One post's comments: anyone reads them; a signed-in user adds one."""

    serializer_class = CommentSerializer

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        # Look the post up once: a missing post is a 404 for reads and writes alike,
        # and a new comment is attached to it without another query. A new comment
        # locks it: the post cannot be deleted between this lookup and the INSERT.
        self.parent_post = generics.get_object_or_404(
            self.locked(Post.objects.all()), pk=kwargs["post_pk"]
        )

    def get_queryset(self):
        # The OpenAPI schema is generated without a request, so without a post.
        if getattr(self, "swagger_fake_view", False):
            return Comment.objects.none()
        return Comment.objects.filter(post=self.parent_post)

    def perform_create(self, serializer):
        serializer.save(user=self.request.user, post=self.parent_post)
