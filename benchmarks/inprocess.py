"""What the in-process read benchmarks share: a seeded throwaway database, the API's
WSGI application called directly, and a trivial endpoint to compare with.

Requests go to Django's WSGI handler in this process, through every middleware the
server runs, without a socket or gunicorn in between, and without the test client
(which adds its own work to each request: signal handlers, response wrapping). So a
figure here is the CPU a request costs the server in Python, and the ratio of two
figures is what matters: compare them within one run, interleaved.
"""

import atexit
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def setup(posts: int, comments: int) -> None:
    """Configure Django on a new SQLite database in a temporary folder, migrated and
    seeded with `posts` posts and `comments` comments by 20 users (seed_posts)."""
    sys.path.insert(0, str(BASE_DIR))
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.pop("STAGE", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_posts", posts=posts, comments=comments, verbosity=0)


def trivial_view():
    """A DRF view that answers `{"ok": true}`: the least any API view can cost here."""
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class Trivial(APIView):
        """`{"ok": true}`, through the same middleware, authentication and renderers."""

        def get(self, request):
            return Response({"ok": True})

    return Trivial.as_view()


def mount(patterns) -> None:
    """Add URL patterns (the trivial view, candidates) to the served ones, for this
    process only. They get no names, so `reverse()` still finds the API's own URLs."""
    from django.urls import clear_url_caches

    import project.urls

    project.urls.urlpatterns += patterns
    clear_url_caches()


def switch_stage(name: str) -> None:
    """Serve stage `name` from now on, as a restart with STAGE=name would."""
    import importlib

    from django.conf import settings
    from django.urls import clear_url_caches, set_urlconf

    settings.STAGE = name
    clear_url_caches()
    importlib.reload(importlib.import_module(settings.ROOT_URLCONF))
    set_urlconf(None)


_app = None


def get(path: str, query: str = "", headers: dict | None = None) -> tuple[int, bytes, dict]:
    """GET `path` through the WSGI application; (status, body, headers)."""
    global _app
    if _app is None:
        from django.core.handlers.wsgi import WSGIHandler

        _app = WSGIHandler()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": HOST,
        "SERVER_PORT": "8000",
        "HTTP_HOST": HOST,
        "HTTP_ACCEPT": "application/json",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()},
    }
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"] = int(status.split()[0])
        started["headers"] = dict(response_headers)

    response = _app(environ, start_response)
    try:
        body = b"".join(response)
    finally:
        response.close()  # request_finished: Django's per-request clean-up, as a server does
    return started["status"], body, started["headers"]


def endpoints() -> dict[str, str]:
    """The read endpoints, by the name the tables use, with ids from the seeded data:
    the newest post and comment (on page 1), and the post with the most comments."""
    from django.db.models import Count

    from blog.models import Comment, Post

    post = Post.objects.order_by("-created_at", "-id").first()
    comment = Comment.objects.order_by("-created_at", "-id").first()
    busiest = Post.objects.annotate(n=Count("comments")).order_by("-n", "-id").first()
    return {
        "posts list": "/api/posts/",
        "post detail": f"/api/posts/{post.pk}/",
        "comments list": "/api/comments/",
        "comment detail": f"/api/comments/{comment.pk}/",
        "a post's comments": f"/api/posts/{busiest.pk}/comments/",
    }


def per_request_ms(path: str, query: str = "", repeat: int = 20) -> float:
    """Mean CPU milliseconds this process spends per request, over `repeat` requests.

    CPU time rather than the clock: on a machine busy with other work, the clock also
    counts the time this process waited for a core, which is not the request's cost.
    (What Redis spends on its side of a cache call is not counted: a few hundredths of
    a millisecond.)
    """
    start = time.process_time()
    for _ in range(repeat):
        get(path, query)
    return (time.process_time() - start) / repeat * 1000
