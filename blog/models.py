from django.conf import settings
from django.db import models
from django.utils import timezone

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 10_000


class Post(models.Model):
    """A blog post written by a user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts"
    )
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    # max_length on a TextField is not enforced by the database; the API validates it.
    body = models.TextField(max_length=BODY_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Newest first, by primary key: pagination needs a stable order, and the
        # primary key's index serves it without a sort.
        ordering = ["-id"]
        indexes = [
            # The `cursor` stage's order, newest first with the id breaking ties: the
            # database reads a page from the cursor on, in order, without a sort.
            models.Index(fields=["-created_at", "-id"], name="post_newest_first_idx"),
        ]

    def __str__(self):
        return self.title


class Comment(models.Model):
    """A user's comment on a post; deleted with the post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    body = models.TextField(max_length=BODY_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The `cursor` stage's orders: all comments newest first, and one post's
            # comments newest first (the post first, so its rows sit together).
            models.Index(fields=["-created_at", "-id"], name="comment_newest_first_idx"),
            models.Index(
                fields=["post", "-created_at", "-id"], name="comment_post_newest_first_idx"
            ),
        ]

    def __str__(self):
        return self.body[:50]
