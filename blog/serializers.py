from django.contrib.auth import get_user_model
from django.db import models
from rest_framework import serializers

from .models import Comment, Post


class StrictCharField(serializers.CharField):
    """DRF's CharField, except that it takes only a string. DRF's also takes a JSON number
    and stores its digits (`{"body": 0}` becomes "0"), where the schema says string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")  # "Not a valid string."
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.HyperlinkedModelSerializer):
    """A HyperlinkedModelSerializer whose text fields, every CharField and TextField of
    the model, are StrictCharFields."""

    serializer_field_mapping = {
        **serializers.HyperlinkedModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }


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


class PostSerializer(StrictModelSerializer):
    """A post with its author nested. The nesting is what costs a query per row
    until the queryset joins the author in."""

    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Post
        fields = ["id", "url", "title", "body", "user", "created_at"]
        read_only_fields = ["created_at"]


class CommentSerializer(StrictModelSerializer):
    """A comment with its author and post nested: two related rows per comment."""

    user = UserSummarySerializer(read_only=True)
    post = PostSummarySerializer(read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "url", "body", "user", "post", "created_at"]
        read_only_fields = ["created_at"]
