"""Concurrent writes on the same rows, against gunicorn with threads on, as `make serve` runs it.

Each race is a batch of requests sent at the same instant, from as many clients as the
server has threads, at one fresh post P and its comments, and repeated REPEATS times.
Afterwards every answer, and the database itself, are held to these rules:

- Clean answers: a 2xx, or a 404 with a message when the post or comment was deleted
  in the same batch. Never a 5xx.
- A delete sticks: a post or comment deleted with a 204 is gone afterwards, and a gone
  post is a 404 with a message whether it is read, edited or commented on.
- Nothing is half-done: a comment answered 201 exists unless its post was deleted; an
  edit answered 200 is the one stored, or another 200 edit is; no comment points at a
  missing post; a request that failed left nothing behind.
- Auth: a revoked token is a clean 401 from the moment the revoke answered; a storm of
  logins as one account gives every request a 200 and one token, which works.

Each stage is served once, from a database of its own, and each race is a subtest, so a
failure names its stage and race. More repetitions find rarer interleavings:
`RACE_REPEATS=200 .venv/bin/pytest tests/test_races.py`.
"""

import json
import os
import random
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial

import dj_database_url
import psycopg
import pytest

from loadtest.server import serve
from stages import STAGES

# Each batch is a fresh post and its own race; 20 keeps a stage's races to seconds.
REPEATS = int(os.environ.get("RACE_REPEATS", "20"))
# The server as `make serve` runs it on 2 cores: 8 requests in flight at once.
WORKERS, THREADS = 2, 4
# Requests of a batch start within this many seconds of each other, so that each
# interleaving of lookup, lock and write gets its chance.
JITTER = 0.01
PASSWORD = "password123"  # the seeded accounts' password
AUTHOR, COMMENTER, OTHER = "user1", "user2", "user3"
# Each sign-in hashes a password (~0.2 s of CPU): the auth races repeat fewer times.
REVOKES, STORMS, LOGINS_PER_STORM = 3, 2, 6


@dataclass
class Answer:
    """One request of a race and what came back."""

    kind: str
    path: str
    text: str | None
    status: int
    body: object
    sent: float
    received: float


@dataclass
class Op:
    """A request to race: `kind` names what it does to the post; `text` is the unique
    title or body it writes, so that its row can be found (or not) afterwards."""

    kind: str
    method: str
    path: str
    token: str
    data: dict | None = None
    target: int | None = None  # the comment a comment edit or delete is about

    @property
    def text(self):
        return (self.data or {}).get("title") or (self.data or {}).get("body")


class Api:
    """Real HTTP clients for the live server: a new connection per request, as from many
    clients."""

    def __init__(self, url):
        self.url = url

    def call(self, method, path, data=None, token=None, kind="") -> Answer:
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            data=json.dumps(data).encode() if data is not None else None,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        if token:
            request.add_header("Authorization", f"Token {token}")
        sent = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        received = time.monotonic()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")[:300]
        text = (data or {}).get("title") or (data or {}).get("body")
        return Answer(kind, path, text, status, body, sent, received)

    def ok(self, method, path, data=None, token=None):
        """A setup request that must succeed; its body."""
        answer = self.call(method, path, data, token)
        assert 200 <= answer.status < 300, f"setup {method} {path}: {answer}"
        return answer.body

    def login(self, username):
        return self.ok("POST", "/api/auth/token/", {"username": username, "password": PASSWORD})[
            "token"
        ]


class Rows:
    """The live server's database, read directly: the ground truth behind the answers."""

    def __init__(self, url):
        self.url = url
        self.sqlite = dj_database_url.parse(url)["ENGINE"].endswith("sqlite3")

    def query(self, sql, params=()):
        if self.sqlite:
            with closing(sqlite3.connect(dj_database_url.parse(self.url)["NAME"])) as db:
                return db.execute(sql.replace("%s", "?"), params).fetchall()
        with psycopg.connect(self.url, autocommit=True) as db:
            return db.execute(sql, params).fetchall()

    def post(self, post_id):
        """(title, body) of the post, or None."""
        rows = self.query("SELECT title, body FROM blog_post WHERE id = %s", (post_id,))
        return rows[0] if rows else None

    def comments(self, post_id):
        """{id: body} of the post's comments."""
        return dict(self.query("SELECT id, body FROM blog_comment WHERE post_id = %s", (post_id,)))

    def comment(self, comment_id):
        rows = self.query("SELECT body FROM blog_comment WHERE id = %s", (comment_id,))
        return rows[0][0] if rows else None

    def orphans(self):
        """Comments whose post does not exist."""
        return self.query(
            "SELECT c.id, c.post_id FROM blog_comment c "
            "LEFT JOIN blog_post p ON p.id = c.post_id WHERE p.id IS NULL"
        )

    def holding(self, texts):
        """Which of `texts` are stored as a post's title or body or a comment's body."""
        texts = list(texts)
        if not texts:
            return set()
        marks = ", ".join(["%s"] * len(texts))
        found = self.query(
            f"SELECT title FROM blog_post WHERE title IN ({marks}) "
            f"UNION SELECT body FROM blog_post WHERE body IN ({marks}) "
            f"UNION SELECT body FROM blog_comment WHERE body IN ({marks})",
            texts * 3,
        )
        return {text for (text,) in found}

    def token_keys(self, username):
        return [
            key
            for (key,) in self.query(
                "SELECT t.key FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id "
                "WHERE u.username = %s",
                (username,),
            )
        ]


@dataclass
class Race:
    """The live server, its database and the accounts' tokens, for one stage."""

    api: Api
    rows: Rows
    tokens: dict
    pool: ThreadPoolExecutor
    repetitions: int = 0
    violations: list = field(default_factory=list)

    def send_at_once(self, ops):
        """Send every op at the same instant (give or take JITTER); their answers."""
        assert len(ops) <= WORKERS * THREADS, "more requests than clients: the barrier waits"
        barrier = threading.Barrier(len(ops))

        def send(op):
            barrier.wait()
            time.sleep(random.uniform(0, JITTER))
            return self.api.call(op.method, op.path, op.data, op.token, kind=op.kind)

        return list(self.pool.map(send, ops))

    def new_post(self, tag, comments=2):
        """A post by AUTHOR with `comments` comments by COMMENTER: (post id, comment ids)."""
        author, commenter = self.tokens[AUTHOR], self.tokens[COMMENTER]
        post = self.api.ok("POST", "/api/posts/", {"title": f"{tag} P", "body": "B"}, author)
        ids = [
            self.api.ok(
                "POST", f"/api/posts/{post['id']}/comments/", {"body": f"{tag} C{i}"}, commenter
            )["id"]
            for i in range(comments)
        ]
        return post["id"], ids

    def fail(self, rep, message):
        self.violations.append(f"repetition {rep}: {message}")

    def broken_repetitions(self):
        return len({violation.split(":")[0] for violation in self.violations})


def post_ops(kinds, tag, post_id, comment_ids, tokens):
    """The requests `kinds` names, against post `post_id` and its comments, each with text
    of its own."""
    author, commenter, other = tokens[AUTHOR], tokens[COMMENTER], tokens[OTHER]
    post_path = f"/api/posts/{post_id}/"
    ops = []
    for i, kind in enumerate(kinds):
        text = f"{tag} {kind} {i}"
        if kind == "comment":
            token = commenter if i % 2 else other
            ops.append(Op(kind, "POST", f"{post_path}comments/", token, {"body": text}))
        elif kind == "put":
            ops.append(Op(kind, "PUT", post_path, author, {"title": text, "body": text}))
        elif kind == "patch":
            ops.append(Op(kind, "PATCH", post_path, author, {"title": text}))
        elif kind == "delete":
            ops.append(Op(kind, "DELETE", post_path, author))
        elif kind in ("patch comment", "delete comment"):
            # Alternate between the post's two comments.
            target = comment_ids[i % len(comment_ids)]
            method, data = (
                ("PATCH", {"body": text}) if kind == "patch comment" else ("DELETE", None)
            )
            ops.append(Op(kind, method, f"/api/comments/{target}/", commenter, data, target))
        else:
            raise ValueError(kind)
    return ops


SUCCESS = {
    "comment": 201,
    "put": 200,
    "patch": 200,
    "delete": 204,
    "patch comment": 200,
    "delete comment": 204,
}


def audit(race, rep, ops, answers, post_id, comment_ids):
    """Hold one batch's answers and the rows they left to the rules (module docstring)."""
    post_gone = any(a.kind == "delete" and a.status == 204 for a in answers)
    deleted_comments = {
        op.target
        for op, a in zip(ops, answers, strict=True)
        if a.kind == "delete comment" and a.status == 204
    }

    for op, a in zip(ops, answers, strict=True):
        if a.status >= 500:
            race.fail(rep, f"{a.kind} {a.path} answered {a.status}: {a.body}")
        elif a.status == 404:
            # Only a row deleted in this batch may be missing, and it says so.
            target_gone = post_gone or op.target in deleted_comments
            if not target_gone:
                race.fail(rep, f"{a.kind} {a.path} answered 404, but nothing deleted it")
            elif not (isinstance(a.body, dict) and a.body.get("detail")):
                race.fail(rep, f"{a.kind} {a.path} answered 404 without a message: {a.body}")
        elif a.status != SUCCESS[a.kind]:
            race.fail(rep, f"{a.kind} {a.path} answered {a.status}: {a.body}")

    stored_post = race.rows.post(post_id)
    stored_comments = race.rows.comments(post_id)
    if post_gone:
        if stored_post is not None:
            race.fail(rep, f"post {post_id}, deleted with a 204, exists again: {stored_post}")
        if stored_comments:
            race.fail(rep, f"comments {sorted(stored_comments)} outlived their deleted post")
    else:
        if stored_post is None:
            race.fail(rep, f"post {post_id} is gone, but no delete answered 204")
        else:
            edited = {a.text for a in answers if a.kind in ("put", "patch") and a.status == 200}
            if edited and stored_post[0] not in edited:
                race.fail(rep, f"post {post_id}'s title {stored_post[0]!r} is no 200 edit's")
        for a in answers:
            if a.kind == "comment" and a.status == 201 and a.body["id"] not in stored_comments:
                race.fail(rep, f"comment {a.body['id']} answered 201 and is lost")
    for comment_id in deleted_comments:
        if race.rows.comment(comment_id) is not None:
            race.fail(rep, f"comment {comment_id}, deleted with a 204, exists again")
    for comment_id in set(comment_ids) - deleted_comments:
        edits = {
            a.text
            for op, a in zip(ops, answers, strict=True)
            if op.target == comment_id and a.kind == "patch comment" and a.status == 200
        }
        body = race.rows.comment(comment_id)
        if body is not None and edits and body not in edits:
            race.fail(rep, f"comment {comment_id}'s body {body!r} is no 200 edit's")

    failed = {a.text for a in answers if a.text and not 200 <= a.status < 300}
    if left := race.rows.holding(failed):
        race.fail(rep, f"requests that failed left rows behind: {sorted(left)}")
    if orphans := race.rows.orphans():
        race.fail(rep, f"comments point at missing posts (comment, post): {orphans}")

    if post_gone:
        gone_post_answers_404(race, rep, post_id)


def gone_post_answers_404(race, rep, post_id):
    """Read, edit and comment on a deleted post: each a 404 with a message."""
    author, commenter = race.tokens[AUTHOR], race.tokens[COMMENTER]
    path = f"/api/posts/{post_id}/"
    for method, url, data, token in (
        ("GET", path, None, None),
        ("PUT", path, {"title": "again", "body": "again"}, author),
        ("PATCH", path, {"title": "again"}, author),
        ("POST", f"{path}comments/", {"body": "again"}, commenter),
    ):
        a = race.api.call(method, url, data, token)
        if a.status != 404 or not (isinstance(a.body, dict) and a.body.get("detail")):
            race.fail(rep, f"{method} {url} of a deleted post answered {a.status}: {a.body}")
    if race.rows.post(post_id) is not None:
        race.fail(rep, f"post {post_id} is back after requests to it once deleted")


# The overlaps on one post P, each a batch of requests sent at once.
POST_RACES = {
    "comment on a post being deleted": ["comment"] * 6 + ["delete"],
    "edit a post being deleted": ["put", "patch"] * 3 + ["delete"],
    "edit and delete comments of a post being deleted": (
        ["patch comment", "delete comment"] * 3 + ["delete"]
    ),
    "edit a comment being deleted": ["patch comment"] * 4 + ["delete comment"],
    "edit a post being commented on": ["put", "patch", "comment", "patch comment"] * 2,
    "everything at once": [
        "comment",
        "put",
        "patch",
        "patch comment",
        "comment",
        "delete comment",
        "put",
        "delete",
    ],
}


def race_on_a_post(race, kinds):
    """REPEATS times: a fresh post with two comments, then the requests `kinds` names."""
    race.repetitions = REPEATS
    for rep in range(REPEATS):
        tag = uuid.uuid4().hex[:12]
        post_id, comment_ids = race.new_post(tag)
        ops = post_ops(kinds, tag, post_id, comment_ids, race.tokens)
        random.shuffle(ops)
        answers = race.send_at_once(ops)
        audit(race, rep, ops, answers, post_id, comment_ids)


def race_revoke_mid_use(race):
    """Writes and reads with a token while it is revoked: 2xx before, clean 401s after."""
    username = COMMENTER
    post_id, _ = race.new_post(uuid.uuid4().hex[:12], comments=0)
    race.repetitions = REVOKES
    for rep in range(REVOKES):
        token = race.tokens[username] if rep == 0 else race.api.login(username)
        tag = uuid.uuid4().hex[:12]
        ops = [
            Op("comment", "POST", f"/api/posts/{post_id}/comments/", token, {"body": f"{tag} {i}"})
            for i in range(5)
        ]
        ops += [Op("read", "GET", f"/api/posts/{post_id}/", token) for _ in range(2)]
        ops.append(Op("revoke", "DELETE", "/api/auth/token/", token))
        random.shuffle(ops)
        answers = race.send_at_once(ops)

        revoked = [a for a in answers if a.kind == "revoke"][0]
        if revoked.status != 204:
            race.fail(rep, f"the revoke answered {revoked.status}: {revoked.body}")
            continue
        for a in answers:
            if a.status == 401:
                if a.body != {"detail": "Invalid token."}:
                    race.fail(rep, f"{a.kind} answered 401 with {a.body}")
            elif not 200 <= a.status < 300:
                race.fail(rep, f"{a.kind} answered {a.status}: {a.body}")
            elif a.sent > revoked.received:
                race.fail(rep, f"{a.kind} sent after the revoke answered {a.status}")
        after = race.api.call("POST", f"/api/posts/{post_id}/comments/", {"body": tag}, token)
        if after.status != 401:
            race.fail(rep, f"the revoked token still answers {after.status}")
        failed = {a.text for a in answers if a.text and a.status == 401}
        if left := race.rows.holding(failed):
            race.fail(rep, f"requests answered 401 left rows behind: {sorted(left)}")
        if race.rows.token_keys(username):
            race.fail(rep, "a token exists after the revoke, though nobody signed in")
    # The other races sign in as this account again.
    race.tokens[username] = race.api.login(username)


def race_login_storm(race):
    """Many logins as one account with no token yet: all 200, one token, which works."""
    username = OTHER
    race.repetitions = STORMS
    for rep in range(STORMS):
        race.api.ok("DELETE", "/api/auth/token/", token=race.tokens[username])  # no token now
        credentials = {"username": username, "password": PASSWORD}
        ops = [Op("login", "POST", "/api/auth/token/", "", credentials)] * LOGINS_PER_STORM
        answers = race.send_at_once(ops)

        statuses = [a.status for a in answers]
        if statuses != [200] * LOGINS_PER_STORM:
            bad = [(a.status, a.body) for a in answers if a.status != 200]
            race.fail(rep, f"logins answered {statuses}: {bad}")
            race.tokens[username] = race.api.login(username)
            continue
        tokens = sorted({a.body["token"] for a in answers})
        if len(tokens) != 1:
            race.fail(rep, f"one account, {len(tokens)} tokens: {tokens}")
        if race.rows.token_keys(username) != tokens[:1]:
            race.fail(rep, f"stored {race.rows.token_keys(username)}, answered {tokens}")
        works = race.api.call("POST", "/api/posts/", {"title": "T", "body": "B"}, tokens[0])
        if works.status != 201:
            race.fail(rep, f"the token the storm gave answers {works.status}: {works.body}")
        race.tokens[username] = tokens[0]  # the other races sign in with it


RACES = {
    **{name: partial(race_on_a_post, kinds=kinds) for name, kinds in POST_RACES.items()},
    "revoke a token in use": race_revoke_mid_use,
    "many logins at once as one account": race_login_storm,
}


@pytest.mark.parametrize("stage", STAGES)
def test_concurrent_writes_keep_the_rules(stage, live_database_url, subtests):
    env = {"DATABASE_URL": live_database_url}
    with (
        serve(stage, env=env, workers=WORKERS, threads=THREADS) as url,
        ThreadPoolExecutor(max_workers=WORKERS * THREADS) as pool,
    ):
        api = Api(url)
        tokens = {name: api.login(name) for name in (AUTHOR, COMMENTER, OTHER)}
        for name, run in RACES.items():
            with subtests.test(race=name):
                race = Race(api, Rows(live_database_url), tokens, pool)

                run(race)

                assert race.violations == [], (
                    f"{name} at {stage}: {len(race.violations)} rules broken, in "
                    f"{race.broken_repetitions()} of {race.repetitions} repetitions\n"
                    + "\n".join(race.violations[:15])
                )
