"""Settings for the tutorial's API, read from the environment.

Everything a reader may want to change is an environment variable with a default that
just works on a laptop:

- STAGE: which optimisation stage to serve (see `stages/`); default `naive`.
- DATABASE_URL: e.g. postgres://postgres@127.0.0.1:5432/test; default SQLite in the repo root.
- REDIS_URL: the Redis that the `cached` stage keeps pages in; default
  redis://127.0.0.1:6379/0. Serving that stage without it stops at start, with a message.
- DJANGO_DEBUG=1 turns DEBUG on; it is off by default, as in production, because DEBUG
  keeps every query in memory and changes what a load test measures.
- DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS (comma-separated).
- DJANGO_HTTPS=1 for production behind a TLS-terminating proxy: https only, secure
  cookies, HSTS. Off by default, because the tutorial serves plain http on 127.0.0.1.

`manage.py check --deploy --fail-level WARNING` passes with DJANGO_DEBUG unset, a
DJANGO_SECRET_KEY of 50+ random characters, DJANGO_ALLOWED_HOSTS and DJANGO_HTTPS=1.
"""

import hashlib
import os
from pathlib import Path

import dj_database_url

from stages import DEFAULT_STAGE, check_stage, redis_url, unavailable

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

# Production behind a proxy that terminates TLS: DJANGO_HTTPS=1. Off by default: on
# plain http at 127.0.0.1 each of these would break the tutorial (a redirect to an https
# that nothing serves, cookies a browser never sends back).
HTTPS = os.environ.get("DJANGO_HTTPS", "") == "1"
if HTTPS:
    # The proxy speaks https to clients and http to gunicorn, and says which scheme the
    # client used in X-Forwarded-Proto. Trust it only behind a proxy that sets it and
    # drops any a client sent; otherwise a client could claim https.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # A client that comes in over http is redirected to https ...
    SECURE_SSL_REDIRECT = True
    # ... but not the readiness check, which a load balancer probes over plain http
    # from the inside, and would count a redirect as down.
    SECURE_REDIRECT_EXEMPT = [r"^api/health/$"]
    # The session and CSRF cookies (the browsable API's, the admin's) never go over http.
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Browsers remember for a year to use only https, on subdomains too; preload lets them
    # ship that list, so that even a first visit is https. Hard to undo: set it only on a
    # domain that serves everything over https.
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    # The OpenAPI schema at /api/schema/, and Swagger UI's files served from here rather
    # than from a CDN, so /api/docs/ works offline.
    "drf_spectacular",
    "drf_spectacular_sidecar",
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

# The `cached` stage's pages, and the versions that invalidate them, in Redis. Keys
# start with this database's own prefix, so that two databases (a replay's copy of each
# stage, a test's) never read each other's pages, while every server of one database
# shares them: a write through any server is seen by all.
REDIS_URL = redis_url()
database_key = hashlib.sha256(
    "|".join(
        str(DATABASES["default"].get(k) or "") for k in ("ENGINE", "HOST", "PORT", "NAME")
    ).encode()
).hexdigest()[:12]
CACHES = {
    "default": {
        # django-redis rather than Django's own RedisCache, which builds a new redis-py
        # client for every cache call (a tenth of a millisecond each).
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"blog-{database_key}",
        # A page stays at most 5 minutes: the bound on staleness for a write that
        # bypasses the API (the admin, a shell, the seeder) and so changes no version.
        "TIMEOUT": 300,
        # A Redis that stops answering costs a request a second at most, not a minute.
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    },
}
# The cached stage needs Redis: without it, stop here with one line, not a traceback.
if (_reason := unavailable(STAGE)) is not None:
    raise SystemExit(_reason)

# Django's database sessions (for the browsable API and the admin), except that a session
# cookie PostgreSQL cannot look up is no session rather than a 500. The classes named
# "hardening" here are in project/hardening.py, each with the input that needed it.
SESSION_ENGINE = "project.hardening"

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
        # DRF's, except that a key PostgreSQL cannot look up is an invalid token.
        "project.hardening.TokenAuthentication",
        # Sessions keep the browsable API usable for humans.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticatedOrReadOnly",
    ],
    "DEFAULT_PARSER_CLASSES": [
        # DRF's three, except that JSON nested too deep to parse is a 400, not a 500.
        "project.hardening.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # drf-spectacular's OpenAPI 3 schema, with each operation's error responses added.
    "DEFAULT_SCHEMA_CLASS": "project.views.ApiSchema",
    # Pagination is not set here: it is what the `paginated` stage adds.
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Blog API (a Django load tutorial)",
    "DESCRIPTION": (
        "Posts and their comments, served at one optimisation stage (see `X-Stage`): "
        "lists are plain arrays before the `paginated` stage and pages after it. "
        "Reads are open; writes need `Authorization: Token <key>`, from "
        "POST /api/auth/token/. `Server-Timing` reports each response's SQL cost."
    ),
    "VERSION": "0.1.0",
    # The schema describes the API, not itself.
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components (PostRequest, Post): read-only fields such
    # as id, url and user are then absent from what a client is told it may send.
    "COMPONENT_SPLIT_REQUEST": True,
    # The router's `.json` suffix URLs (/api/posts/1.json) are the same operations again.
    "PREPROCESSING_HOOKS": ["drf_spectacular.hooks.preprocess_exclude_path_format"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# django-silk profiles requests (docs/09-profiling-with-silk.md), only with DJANGO_SILK=1:
# it writes every request and query it sees to the database, so its own cost would be
# in every figure. `manage.py replay` refuses to run with it on, and the servers that
# replay and the tests start have it off.
SILK_ENABLED = os.environ.get("DJANGO_SILK", "") == "1"
if SILK_ENABLED:
    INSTALLED_APPS.append("silk")
    # Outermost, so that silk's own writes stay out of the Server-Timing count (the
    # EXPLAIN it runs of each query does not: it runs inside the request).
    MIDDLEWARE.insert(0, "silk.middleware.SilkyMiddleware")
    # A cProfile of each request, shown on its page under /silk/.
    SILKY_PYTHON_PROFILER = True
    # Where .prof files go when SILKY_PYTHON_PROFILER_BINARY is set.
    SILKY_PYTHON_PROFILER_RESULT_PATH = BASE_DIR / "profiles"

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
