"""Load test for the Post/Comment API: readers and writers, each logged in once.

    make serve                  # terminal 1: the API on 127.0.0.1:8000
    locust                      # terminal 2: web UI on http://127.0.0.1:8089 (see locust.conf)
    locust --headless -u 5 -r 5 -t 12s
    LOAD_PROFILE=spike locust   # drive users with a named profile (loadtest/profiles.py)
    python locustfile.py        # one user, in the foreground, for a debugger

Each virtual user logs in as one of the seeded accounts (user1 ... userN, N from
/api/health/) and then repeats journeys: a reader's visit or a writer's contribution,
about 77 % of requests reading and 23 % writing (creating, editing and deleting
their own posts, and commenting). Requests are grouped by endpoint
with `name=`, so /api/posts/17/ and /api/posts/42/ are one row; the names are in
loadtest/endpoints.py, where the report and the tests find them too.

No two running users share an account (or its token): each holds one of its own
(loadtest/logins.py), and a test with more users than seeded accounts is refused with
the command that seeds them.
"""

import collections
import contextlib
import itertools
import logging
import os
import random
import uuid

import gevent
import locust  # noqa: F401  before requests: importing Locust patches ssl and sockets for gevent
import requests
from locust import FastHttpUser, SequentialTaskSet, between, events, run_single_user, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from loadtest import endpoints, logins, profiles, samples
from seed import accounts

log = logging.getLogger(__name__)

# What the system under test holds, read once per load process at test start.
dataset = {"seeded_users": 0, "post_ids": None}
# The seeded accounts this load process hands out, one to each running user.
accounts_free = logins.Pool()
# Why this test was refused, while it is: its users then stop without logging in.
refusal = {"reason": None}
# The posts this load process's writers created lately, for comments to go to.
recent_posts = collections.deque(maxlen=100)
# How a writer's contribution ends, in turn across this load process's writers: an
# edit with PUT, one with PATCH, a delete, or nothing. So half the contributions edit
# one of the writer's own posts, a quarter delete one, and most posts stay, as on a
# real blog; taking them in turn rather than by chance means a short run has all three.
CHANGES = ("PUT", "PATCH", "DELETE", None)
_next_change = itertools.cycle(CHANGES)


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
        help="Weight of the writer's journey against the reader's 2: 1 gives about 23 %% "
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
def hand_out_accounts(environment, **kwargs):
    """Give this load process its share of the seeded accounts: a running user holds one."""
    process, processes = load_process(environment.runner)
    if process < processes:
        accounts_free.fill(
            logins.numbers(dataset["seeded_users"], process=process, processes=processes)
        )
    else:
        # A worker beyond the count the master expects: every account it could hand
        # out is another worker's. Its users stop rather than share.
        accounts_free.fill([])
        log.error("More workers than --expect-workers %s: this one gets no accounts", processes)


def load_process(runner) -> tuple[int, int]:
    """This load process's number (from 0) and how many share the users: Locust's
    workers each know their index and the count the master expects (`--processes N`
    sets it); a single process is 0 of 1."""
    if isinstance(runner, WorkerRunner):
        return runner.worker_index, runner.environment.parsed_options.expect_workers
    return 0, 1


@events.test_start.add_listener
def refuse_shared_accounts(environment, **kwargs):
    """Stop a test that would need more accounts than are seeded (users would share
    them), saying how to seed them. The master decides, or the single process."""
    runner = environment.runner
    refusal["reason"] = None
    if runner is None or isinstance(runner, WorkerRunner):
        return  # one user (`python locustfile.py`), or a worker: the master decides
    profile = getattr(environment.shape_class, "profile", None)
    users = profile.peak_users if profile else runner.target_user_count
    processes = environment.parsed_options.expect_workers if isinstance(runner, MasterRunner) else 1
    count, seeded = logins.needed(users, processes), dataset["seeded_users"]
    if count <= seeded:
        return
    refusal["reason"] = (
        f"{users} users need {count} accounts of their own, and the server has {seeded} "
        f"seeded: add them with `{logins.seed_command(count)}`, or run fewer users"
    )
    log.error("Refused: %s", refusal["reason"])
    # Once the start that fired this event has returned; the users it spawned stop
    # without logging in (on_start). The web UI stays up for another try.
    if environment.parsed_options.headless:
        environment.process_exit_code = 1
        gevent.spawn(runner.quit)
    else:
        gevent.spawn(runner.stop)


@events.test_start.add_listener
def weigh_journeys(environment, **kwargs):
    """Apply --writer-weight before the users start (every load process does this)."""
    weight = environment.parsed_options.writer_weight
    BlogUser.tasks = [ReaderVisit] * 2 + [WriterContribution] * max(weight, 0)


@events.test_stop.add_listener
def say_done(environment, **kwargs):
    log.warning("Load test against %s stopped", environment.host)


def seeded_post_ids() -> range:
    """The ids of the posts that were there at test start, which no one deletes."""
    first, last = dataset["post_ids"]
    return range(first, last + 1)


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
    """A writer's contribution: a new post, a comment on a post, and sometimes a change
    to one of the posts this user wrote in this run: an edit or a delete.

    A user changes only its own posts (anyone else's would be a 403), and never one it
    has deleted. Each request carries, in Locust's `context`, the post it changed and
    the title it sent, so that the writes audit (loadtest/stats.py) can check, row by
    row, that every answer the server gave is what its database holds.
    """

    @task
    def create_post(self):
        title = "Load test post"
        with self.client.post(
            "/api/posts/",
            json={"title": title, "body": "Written by a Locust user."},
            name=endpoints.POSTS,
            headers=self.user.auth,
            context={"wrote": title},
            catch_response=True,
        ) as response:
            if response.status_code == 201:
                post_id = response.json()["id"]
                self.user.own_posts.append(post_id)
                recent_posts.append(post_id)

    @task
    def comment(self):
        # Half the comments go to a post written during this run, which its author may
        # delete (its comments go with it), half to any seeded post.
        if recent_posts and random.random() < 1 / 2:
            post_id = random.choice(recent_posts)
        else:
            post_id = random.randint(*dataset["post_ids"])
        with self.client.post(
            f"/api/posts/{post_id}/comments/",
            json={"body": "A comment from a Locust user."},
            name=endpoints.POST_COMMENTS,
            headers=self.user.auth,
            context={"post": post_id},
            catch_response=True,
        ) as response:
            if response.status_code == 404 and post_id not in seeded_post_ids():
                # Its author deleted it meanwhile: "not found" is the right answer.
                response.success()

    @task
    def change_own_post(self):
        change, own = next(_next_change), self.user.own_posts
        if not own or change is None:
            return
        if change == "DELETE":
            self.delete(own.pop(random.randrange(len(own))))
        else:
            self.edit(random.choice(own), method=change)

    def edit(self, post_id, *, method):
        # A title no other edit sends, so the audit can tell which edit a row holds.
        title = f"Edited {uuid.uuid4().hex[:12]}"
        data = {"title": title}
        if method == "PUT":
            data["body"] = "Edited by a Locust user."  # a PUT sends every field
        self.client.request(
            method,
            f"/api/posts/{post_id}/",
            json=data,
            name=endpoints.POST,
            headers=self.user.auth,
            context={"id": post_id, "wrote": title},
        )

    def delete(self, post_id):
        with contextlib.suppress(ValueError):  # already gone from the recent ones
            recent_posts.remove(post_id)
        self.client.delete(
            f"/api/posts/{post_id}/",
            name=endpoints.POST,
            headers=self.user.auth,
            context={"id": post_id},
        )

    @task
    def done(self):
        self.interrupt()


def more_accounts(runner) -> int:
    """Accounts enough for the users the test asks for now, and one more per process."""
    _, processes = load_process(runner)
    users = runner.target_user_count * processes if runner else 1
    return max(logins.needed(users, processes), dataset["seeded_users"] + processes)


class BlogUser(FastHttpUser):
    """A signed-in user of the blog.

    FastHttpUser, not HttpUser: on a 2-core machine the load generator shares the CPU
    with the server, and FastHttpUser's client costs Locust less CPU per request, so
    the server stays the bottleneck (benchmarks/client_cpu.py measures both; its output
    is in reports/reference/benchmarks/client_cpu.md).
    """

    # A reader visit is ~4.5 requests, a contribution ~2.75 (a post, a comment, and
    # three times in four an edit or a delete: CHANGES). Journeys weighted 2:1 give
    # about 77 % reads and 23 % writes by request.
    tasks = {ReaderVisit: 2, WriterContribution: 1}

    def wait_time(self):
        # A person reads for a second or three between clicks. Without think time each
        # user is a tight loop, and "20 users" would mean far more than 20 people.
        return between(1, 3)(self) * self.environment.parsed_options.think_time_scale

    account = None  # the number of the seeded account this user holds

    def on_start(self):
        """Log in once, as a seeded account of its own; every later request sends the token."""
        if refusal["reason"]:
            self.stop(force=True)  # quietly: the refusal has been logged once
        if not dataset["seeded_users"] or not dataset["post_ids"]:
            log.error("The server has no seeded users or no posts: run `manage.py seed_posts`")
            raise StopUser()
        self.account = accounts_free.take()
        if self.account is None:
            # More users than this process has accounts for: added after the test
            # started (the web UI), or starting while stopping users still hold theirs.
            log.error(
                "No seeded account is free for another user: user stopped. Seed more, e.g. `%s`.",
                logins.seed_command(more_accounts(self.environment.runner)),
            )
            raise StopUser()
        username = accounts.username(self.account)
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
        # The posts this user wrote in this run and has not deleted: the only ones it
        # edits or deletes.
        self.own_posts = []

    def on_stop(self):
        """Give the account back, for a user that starts later."""
        if self.account is not None:
            accounts_free.give_back(self.account)
            self.account = None


# Shapes only when asked for: a shape in this namespace would override -u/-r/-t.
if os.environ.get("LOAD_PROFILE"):
    from loadtest.shape import shape_class

    LoadProfile = shape_class(profiles.from_environment())

samples.record_if_asked()

if __name__ == "__main__":
    run_single_user(BlogUser)
