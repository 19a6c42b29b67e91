"""What a stage's copy of the database holds after its run: the rows the writes audit
(stats.audit_writes) checks against the answers the load got.

Read straight from the copy, after its server has stopped, with the database's own
driver: the replay's Django connection is to the original, which the load never
touched.
"""

import sqlite3
from collections.abc import Iterable
from contextlib import closing

import dj_database_url

from blog.models import Comment, Post

from . import databases
from .endpoints import CREATE_COMMENT, CREATE_POST, DELETE_POST, EDIT_POST
from .samples import Sample
from .stats import Held

# Ids per statement: well under SQLite's limit on parameters.
CHUNK = 500


def read(database_url: str, samples: Iterable[Sample]) -> Held:
    """The posts and comments the samples' writes name, and the orphan comments, in the
    database at `database_url` (SQLite or PostgreSQL)."""
    post_ids, comment_ids = set(), set()
    for sample in samples:
        if sample.id is None:
            continue
        if sample.name == CREATE_COMMENT:
            comment_ids.add(sample.id)
        elif sample.name in (CREATE_POST, DELETE_POST, *EDIT_POST):
            post_ids.add(sample.id)
    posts, comments = Post._meta.db_table, Comment._meta.db_table
    with closing(_connect(database_url)) as connection:
        cursor = connection.cursor()
        mark = "?" if isinstance(connection, sqlite3.Connection) else "%s"
        held_posts = dict(_rows(cursor, mark, f"SELECT id, title FROM {posts}", post_ids))
        held_comments = dict(
            _rows(cursor, mark, f"SELECT id, post_id FROM {comments}", comment_ids)
        )
        cursor.execute(
            f"SELECT COUNT(*) FROM {comments} c LEFT JOIN {posts} p ON p.id = c.post_id "
            "WHERE p.id IS NULL"
        )
        (orphans,) = cursor.fetchone()
    return Held(held_posts, held_comments, orphans)


def _connect(database_url: str):
    config = dj_database_url.parse(database_url)
    if config["ENGINE"].endswith("sqlite3"):
        return sqlite3.connect(config["NAME"])
    return databases.connect(database_url)


def _rows(cursor, mark: str, select: str, ids: set[int]) -> list[tuple]:
    found = []
    ordered = sorted(ids)
    for i in range(0, len(ordered), CHUNK):
        chunk = ordered[i : i + CHUNK]
        cursor.execute(f"{select} WHERE id IN ({', '.join([mark] * len(chunk))})", chunk)
        found.extend(cursor.fetchall())
    return found
