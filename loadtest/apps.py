from django.apps import AppConfig


class LoadtestConfig(AppConfig):
    """Load-run tooling: `manage.py replay` and the gunicorn server it drives."""

    name = "loadtest"
