from django.apps import AppConfig


class SeedConfig(AppConfig):
    """Fills the database with fake posts and comments (`manage.py seed_posts`)."""

    name = "seed"
