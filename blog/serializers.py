from django.contrib.auth import get_user_model
from rest_framework import serializers

from .models import Comment, Post


class UserSummarySerializer(serializers.ModelSerializer):
    """The author as embedded in a post or comment: `{id, username}`."""

    class Meta:
        model = get_user_model()
        fields = ["id", "username"]


class PostSummarySerializer(serializers.ModelSerializer):
    """The post as embedded in a comment: `{id, title}`."""

    class Meta:
        model = Post
        fields = ["id", "title"]


class PostSerializer(serializers.HyperlinkedModelSerializer):
    """A post with its author nested. The nesting is what costs a query per row
    until the queryset joins the author in."""

    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Post
        fields = ["id", "url", "title", "body", "user", "created_at"]
        read_only_fields = ["created_at"]


class CommentSerializer(serializers.HyperlinkedModelSerializer):
    """A comment with its author and post nested: two related rows per comment."""

    user = UserSummarySerializer(read_only=True)
    post = PostSummarySerializer(read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "url", "body", "user", "post", "created_at"]
        read_only_fields = ["created_at"]
