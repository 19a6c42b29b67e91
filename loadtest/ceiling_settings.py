"""The settings `manage.py measure_ceiling` serves with: the project's own, every one of
them, except for the URLconf, which adds the trivial endpoint (ceiling_urls.py).

gunicorn picks these with DJANGO_SETTINGS_MODULE=loadtest.ceiling_settings. The served
API never does, so the trivial endpoint exists only while the benchmark runs.
"""

from project.settings import *  # noqa: F403 (all of them: the point is to change one)

ROOT_URLCONF = "loadtest.ceiling_urls"
