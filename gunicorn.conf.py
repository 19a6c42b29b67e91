"""gunicorn settings for every server this repo starts (`make serve`, the load runs).

gunicorn reads this file from the working directory; command-line flags override it.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# One process per core: the API is CPU-bound Python, and processes sidestep the GIL.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
# A few threads per worker overlap database waits; SQLite's WAL, busy timeout and
# immediate transactions (see project/settings.py) keep concurrent writes safe.
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Load the app once in the master: a bad STAGE stops the server at start with its
# message, instead of every worker failing to boot in a loop.
preload_app = True
# The naive stage's lists take seconds at the default data; don't kill those workers.
timeout = 120
# Keep idle connections open longer than a load-test user thinks (up to 3 s). With
# gunicorn's default of 2 s, the server closes a connection just as the client reuses
# it, and a POST fails with "connection closed": a failure of the test, not the API.
keepalive = 10
# gunicorn 27 would otherwise create a control socket under ~/.gunicorn/.
control_socket_disable = True
