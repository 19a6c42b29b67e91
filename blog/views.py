"""The API's views as a first draft writes them: correct, and slow at scale.

These are the `naive` stage. Later stages (see `stages/`) subclass them and override
`get_queryset()` or `pagination_class`; nothing here knows which stage is served.
"""

from rest_framework import generics, mixins, permissions, viewsets

from .models import Comment, Post
from .permissions import IsAuthorOrReadOnly
from .serializers import CommentSerializer, PostSerializer


class PostViewSet(viewsets.ModelViewSet):
    """Posts: anyone reads; a signed-in user creates; only the author edits or deletes."""

    queryset = Post.objects.all()
    serializer_class = PostSerializer
    # Ids in the URL are plain digits (<int:>): int() alone would also read "1_0" or "١".
    lookup_value_converter = "int"
    permission_classes = [permissions.IsAuthenticatedOrReadOnly, IsAuthorOrReadOnly]

    def perform_create(self, serializer):
        serializer.save(user=self.request.user)


class CommentViewSet(
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


class PostCommentList(generics.ListCreateAPIView):
    """One post's comments: anyone reads them; a signed-in user adds one."""

    serializer_class = CommentSerializer

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        # Look the post up once: a missing post is a 404 for reads and writes alike,
        # and a new comment is attached to it without another query.
        self.parent_post = generics.get_object_or_404(Post, pk=kwargs["post_pk"])

    def get_queryset(self):
        # The OpenAPI schema is generated without a request, so without a post.
        if getattr(self, "swagger_fake_view", False):
            return Comment.objects.none()
        return Comment.objects.filter(post=self.parent_post)

    def perform_create(self, serializer):
        serializer.save(user=self.request.user, post=self.parent_post)
