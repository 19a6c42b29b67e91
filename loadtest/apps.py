from django.apps import AppConfig


class LoadtestConfig(AppConfig):
    """Load-run tooling: `manage.py replay` and `manage.py measure_pagination`."""

    name = "loadtest"
