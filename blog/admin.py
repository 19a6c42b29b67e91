from django.contrib import admin

from .models import Comment, Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    """Posts in the admin, without an N+1 on the change list."""

    list_display = ["title", "user", "created_at"]
    list_select_related = ["user"]
    search_fields = ["title"]
    # A <select> of every user would render thousands of options after seeding.
    raw_id_fields = ["user"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    """Comments in the admin, without an N+1 on the change list."""

    list_display = ["__str__", "post", "user", "created_at"]
    list_select_related = ["post", "user"]
    raw_id_fields = ["post", "user"]
