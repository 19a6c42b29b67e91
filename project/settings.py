"""Settings for the tutorial's API, read from the environment.

Everything a reader may want to change is an environment variable with a default that
just works on a laptop:

- STAGE: which optimisation stage to serve (see `stages/`); default `naive`.
- DATABASE_URL: e.g. postgres://postgres@127.0.0.1:5432/test; default SQLite in the repo root.
- DJANGO_DEBUG=1 turns DEBUG on; it is off by default, as in production, because DEBUG
  keeps every query in memory and changes what a load test measures.
- DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS (comma-separated).
"""

import os
from pathlib import Path

import dj_database_url

from stages import DEFAULT_STAGE, check_stage

BASE_DIR = Path(__file__).resolve().parent.parent

# The one place the stage switch is read. An unknown name stops every manage.py
# command and the server, with the list of valid stages.
STAGE = check_stage(os.environ.get("STAGE") or DEFAULT_STAGE)

DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"

# Dev-only default: anyone who reads this repository knows it. Set DJANGO_SECRET_KEY
# for anything that faces a network.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-dev-only-do-not-deploy-this-key")

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
    if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "blog",
    "seed",
    "loadtest",
]

MIDDLEWARE = [
    # Outermost, so that the query count covers everything below it.
    "project.middleware.ServerTimingMiddleware",
    "project.middleware.StageHeaderMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's and the browsable API's static files under gunicorn.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "project.wsgi.application"

# Persistent connections (CONN_MAX_AGE) with a health check: under load, opening a
# PostgreSQL connection per request would be a cost the tutorial does not teach.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=600,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run while one connection writes; synchronous=NORMAL is
        # the safe companion setting for WAL and keeps commits cheap.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        # Wait up to 20 s for the write lock rather than failing at once.
        "timeout": 20,
        # BEGIN IMMEDIATE takes the write lock when a transaction starts. A deferred
        # transaction that reads and then writes cannot wait for the lock (SQLite
        # would deadlock), so it fails with "database is locked" under concurrency.
        "transaction_mode": "IMMEDIATE",
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# WhiteNoise serves the admin's and the browsable API's files straight from the
# installed apps, so no collectstatic step stands between a clone and a server.
WHITENOISE_USE_FINDERS = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: the first class decides the 401's WWW-Authenticate header.
        "rest_framework.authentication.TokenAuthentication",
        # Sessions keep the browsable API usable for humans.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticatedOrReadOnly",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Pagination is not set here: it is what the `paginated` stage adds.
}

# With DEBUG off Django prints nothing for a 500; send request errors, with their
# traceback, to the console (gunicorn's stderr). 4xx warnings stay quiet: under load
# they would drown everything else.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
