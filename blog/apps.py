from django.apps import AppConfig


class BlogConfig(AppConfig):
    """The Post/Comment API."""

    name = "blog"
