"""The project's locustfile with HttpUser (the requests library) as the client instead
of FastHttpUser, for benchmarks/client_cpu.py: the same journeys, think times, logins
and event hooks (they register when locustfile.py is imported); only the client
differs. Only this module's `BlogUser` is a user class Locust finds here."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from locust import HttpUser  # noqa: E402

import locustfile  # noqa: E402

# locustfile.BlogUser's own attributes (tasks, wait_time, on_start, on_stop, ...) on
# HttpUser: its methods call no super(), so they work on a class of another base.
BlogUser = type(
    "BlogUser",
    (HttpUser,),
    {name: value for name, value in vars(locustfile.BlogUser).items() if not name.startswith("__")},
)
