"""gunicorn settings for every server this repo starts (`make serve`, the load runs).

gunicorn reads this file from the working directory; command-line flags override it.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# The rule: each worker process has a GIL of its own, and only the thread holding it runs
# Python. CPU-bound work (this API: at the `cursor` stage the SQL is ~0.4 ms of a
# request, DRF and Django the rest) scales with processes, one per core; threads in one
# process queue on its GIL and add switching, not throughput. I/O-bound work (a slow
# remote database, calls to other services) is where threads pay: a thread waiting on
# I/O releases the GIL and another runs. `manage.py measure_ceiling --servers
# sync:2,gthread:2x1,gthread:2x2,gthread:2x4,gthread:4x1` compares them; chapter 11
# (docs/11-server-setup.md) reads the reference runs, reports/reference/servers-*.
#
# One process per core: more workers than cores add switching, not CPU.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
# gthread, even with one thread: it keeps a client's connection open between requests
# (see keepalive below). The sync worker answers every request with "Connection: close",
# so a client opens a new connection per request, which costs the server CPU too.
worker_class = "gthread"
# One thread: for CPU-bound work more threads do not buy throughput, they queue on the
# GIL. Raise it (GUNICORN_THREADS) for I/O-bound work, or to let quick requests through
# beside slow ones: with one thread, a worker busy with the naive stage's seconds-long
# list holds up every request on the connections it keeps open. SQLite's WAL, busy
# timeout and immediate transactions (see project/settings.py) keep concurrent writes
# safe either way.
threads = int(os.environ.get("GUNICORN_THREADS", 1))
# Load the app once in the master: a bad STAGE stops the server at start with its
# message, instead of every worker failing to boot in a loop.
preload_app = True
# The naive stage's lists take seconds at the default data; don't kill those workers.
timeout = 120
# Keep idle connections open longer than a load-test user thinks (up to 3 s): Locust's
# FastHttpUser reuses its connection after each think time. With gunicorn's default of
# 2 s, the server closes a connection just as the client reuses it, and a POST fails with
# "connection closed": a failure of the test, not the API. Only gthread (and the async
# workers) keep connections alive; a sync worker ignores this and closes each one.
keepalive = 10
# gunicorn 27 would otherwise create a control socket under ~/.gunicorn/.
control_socket_disable = True
