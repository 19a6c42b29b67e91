"""Load test for the Post/Comment API: readers and writers, each logged in once.

    make serve                  # terminal 1: the API on 127.0.0.1:8000
    locust                      # terminal 2: web UI on http://127.0.0.1:8089 (see locust.conf)
    locust --headless -u 5 -r 5 -t 12s
    LOAD_PROFILE=spike locust   # drive users with a named profile (loadtest/profiles.py)
    python locustfile.py        # one user, in the foreground, for a debugger

Each virtual user logs in as one of the seeded accounts (user1 ... userN, N from
/api/health/) and then repeats journeys: a reader's visit or a writer's contribution,
about 80 % of requests reading and 20 % writing. Requests are grouped by endpoint
with `name=`, so /api/posts/17/ and /api/posts/42/ are one row; the names are in
loadtest/endpoints.py, where the report and the tests find them too.
"""

import itertools
import logging
import os
import random

import requests
from locust import FastHttpUser, SequentialTaskSet, between, events, run_single_user, task
from locust.exception import StopUser

from loadtest import endpoints, profiles, samples
from seed import accounts

log = logging.getLogger(__name__)

# What the system under test holds, read once per load process at test start.
dataset = {"seeded_users": 0, "post_ids": None}
_user_numbers = itertools.count()


@events.init_command_line_parser.add_listener
def add_options(parser):
    parser.add_argument(
        "--seed-password",
        default=accounts.DEFAULT_PASSWORD,
        help="Password of the seeded users user1 ... userN (the seeder's default).",
    )
    parser.add_argument(
        "--writer-weight",
        type=int,
        default=1,
        help="Weight of the writer's journey against the reader's 2: 1 gives about 20 %% "
        "writes by request; 8 a write-heavy load, for auditing that no write is lost.",
    )
    parser.add_argument(
        "--think-time-scale",
        type=float,
        default=1.0,
        help="Multiply the users' think times (1-3 s) by this: 0 for none, as in a "
        "throughput test or a short smoke run.",
    )


@events.test_start.add_listener
def read_dataset(environment, **kwargs):
    """Print what is under test, and learn the accounts and ids that exist."""
    health = requests.get(f"{environment.host}/api/health/", timeout=30)
    health.raise_for_status()
    data = health.json()
    dataset.update(seeded_users=data["seeded_users"], post_ids=data["post_ids"])
    log.warning(
        "Testing %s at stage %s: %s posts, %s comments, %s seeded users",
        environment.host,
        health.headers.get("X-Stage", "?"),
        data["posts"],
        data["comments"],
        data["seeded_users"],
    )


@events.test_start.add_listener
def weigh_journeys(environment, **kwargs):
    """Apply --writer-weight before the users start (every load process does this)."""
    weight = environment.parsed_options.writer_weight
    BlogUser.tasks = [ReaderVisit] * 2 + [WriterContribution] * max(weight, 0)


@events.test_stop.add_listener
def say_done(environment, **kwargs):
    log.warning("Load test against %s stopped", environment.host)


def next_page(response):
    """The `next` link of a list response that is a page ({next, previous, results},
    with or without a count), or None: the URL a client follows, whether it holds a
    page number or a cursor."""
    data = response.json()
    return data.get("next") if isinstance(data, dict) else None


class ReaderVisit(SequentialTaskSet):
    """A reader's visit: the front page of posts (sometimes the next one too), one post
    and its comments, then the latest comments; then the user picks a new journey."""

    @task
    def list_posts(self):
        response = self.client.get("/api/posts/", name=endpoints.POSTS, headers=self.user.auth)
        # One reader in three reads on to page 2, where there is one: an unpaginated
        # stage sends every post at once (a list, with no `next`). The reader follows
        # the link the API gave, as a client must when a cursor stands for the page.
        if random.random() < 1 / 3 and response.ok and (url := next_page(response)):
            self.client.get(url, name=endpoints.POSTS, headers=self.user.auth)

    @task
    def open_post(self):
        # Any id in the range read at test start: readers arrive from links, not only
        # from the front page, so the whole table is in play.
        self.post_id = random.randint(*dataset["post_ids"])
        self.client.get(f"/api/posts/{self.post_id}/", name=endpoints.POST, headers=self.user.auth)

    @task
    def read_its_comments(self):
        self.client.get(
            f"/api/posts/{self.post_id}/comments/",
            name=endpoints.POST_COMMENTS,
            headers=self.user.auth,
        )

    @task
    def list_comments(self):
        self.client.get("/api/comments/", name=endpoints.COMMENTS, headers=self.user.auth)

    @task
    def done(self):
        # A journey must end, or the user would read forever and never write.
        self.interrupt()


class WriterContribution(SequentialTaskSet):
    """A writer's contribution: a new post, then a comment on someone's post."""

    @task
    def create_post(self):
        self.client.post(
            "/api/posts/",
            json={"title": "Load test post", "body": "Written by a Locust user."},
            name=endpoints.POSTS,
            headers=self.user.auth,
        )

    @task
    def comment(self):
        post_id = random.randint(*dataset["post_ids"])
        self.client.post(
            f"/api/posts/{post_id}/comments/",
            json={"body": "A comment from a Locust user."},
            name=endpoints.POST_COMMENTS,
            headers=self.user.auth,
        )

    @task
    def done(self):
        self.interrupt()


class BlogUser(FastHttpUser):
    """A signed-in user of the blog.

    FastHttpUser, not HttpUser: on a 2-core machine the load generator shares the CPU
    with the server, and FastHttpUser's client costs Locust less CPU per request, so
    the server stays the bottleneck (benchmarks/client_cpu.py measures both; its output
    is in reports/reference/benchmarks/client_cpu.md).
    """

    # A reader visit is ~4.5 requests, a contribution 2: journeys weighted 2:1 give
    # about 80 % reads and 20 % writes by request.
    tasks = {ReaderVisit: 2, WriterContribution: 1}

    def wait_time(self):
        # A person reads for a second or three between clicks. Without think time each
        # user is a tight loop, and "20 users" would mean far more than 20 people.
        return between(1, 3)(self) * self.environment.parsed_options.think_time_scale

    def on_start(self):
        """Log in once, as one of the seeded accounts; every later request sends the token."""
        if not dataset["seeded_users"] or not dataset["post_ids"]:
            log.error("The server has no seeded users or no posts: run `manage.py seed_posts`")
            raise StopUser()
        username = accounts.username(next(_user_numbers) % dataset["seeded_users"] + 1)
        password = self.environment.parsed_options.seed_password
        with self.client.post(
            "/api/auth/token/",
            json={"username": username, "password": password},
            name=endpoints.TOKEN,
            catch_response=True,
        ) as response:
            token = response.json().get("token") if response.status_code == 200 else None
            if not token:
                response.failure(f"login as {username} failed: HTTP {response.status_code}")
        if not token:
            # Stop this user: every later request would be a silent 401.
            log.error("Login as %s failed (HTTP %s); user stopped", username, response.status_code)
            raise StopUser()
        self.auth = {"Authorization": f"Token {token}"}


# Shapes only when asked for: a shape in this namespace would override -u/-r/-t.
if os.environ.get("LOAD_PROFILE"):
    from loadtest.shape import shape_class

    LoadProfile = shape_class(profiles.from_environment())

samples.record_if_asked()

if __name__ == "__main__":
    run_single_user(BlogUser)
