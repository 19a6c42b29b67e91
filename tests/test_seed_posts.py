"""`manage.py seed_posts`: how much it writes, that a seed repeats it (on every
database, by every bulk path), what --reset deletes, how post ids are held, and that
bad input or Ctrl-C leaves the database as it was."""

import hashlib
import os
import random
import subprocess
import sys
from array import array
from datetime import timedelta
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from model_bakery import baker
from psycopg.adapt import Dumper

from blog.models import Comment, Post
from seed import builders
from seed.management.commands.seed_posts import Command

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's bulk path (COPY)"
)
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's page cache")
vacuumed = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's VACUUM (ANALYZE)"
)

REPO_ROOT = Path(__file__).resolve().parent.parent
OPTION_DESTS = {
    "users",
    "posts",
    "comments",
    "seed",
    "batch_size",
    "password",
    "reset",
    "if_empty",
}


def seed(*args):
    """Run the command with CLI-style string arguments; return what it printed."""
    out = StringIO()
    call_command("seed_posts", *args, stdout=out)
    return out.getvalue()


def usernames():
    return set(get_user_model().objects.values_list("username", flat=True))


def post_rows():
    return list(Post.objects.order_by("id").values_list("title", "body", "user__username"))


def comment_rows():
    return list(Comment.objects.order_by("id").values_list("body", "user__username", "post__title"))


def timeline(model):
    """Each row's created_at as an offset from the first row's: the run's own clock
    drops out, so two runs compare."""
    stamps = list(model.objects.order_by("id").values_list("created_at", flat=True))
    return [stamp - stamps[0] for stamp in stamps]


def digest(rows):
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def assert_nothing_written():
    assert not Post.objects.exists()
    assert not Comment.objects.exists()
    assert not get_user_model().objects.exists()


class TestCounts:
    def test_creates_the_users_and_exactly_the_posts_and_comments_asked_for(self):
        seed("--users", "3", "--posts", "10", "--comments", "7")

        assert usernames() == {"user1", "user2", "user3"}
        assert Post.objects.count() == 10
        assert Comment.objects.count() == 7

    def test_a_batch_size_smaller_than_the_rows_still_inserts_every_row(self):
        seed("--users", "2", "--posts", "10", "--comments", "7", "--batch-size", "3")

        assert Post.objects.count() == 10
        assert Comment.objects.count() == 7

    def test_every_post_and_comment_is_by_a_seeded_user(self):
        seed("--users", "3", "--posts", "20", "--comments", "20")

        seeded = {"user1", "user2", "user3"}
        assert set(Post.objects.values_list("user__username", flat=True)) <= seeded
        assert set(Comment.objects.values_list("user__username", flat=True)) <= seeded

    def test_every_comment_is_on_an_existing_post(self):
        """Rows go in as raw SQL, so this is checked here rather than left to the ORM."""
        seed("--users", "3", "--posts", "5", "--comments", "20")

        post_ids = set(Post.objects.values_list("id", flat=True))
        assert set(Comment.objects.values_list("post_id", flat=True)) <= post_ids

    def test_timestamps_are_within_the_last_year_and_oldest_first(self):
        before = timezone.now()

        seed("--users", "2", "--posts", "10", "--comments", "5")

        for model in (Post, Comment):
            stamps = list(model.objects.order_by("id").values_list("created_at", flat=True))
            assert stamps == sorted(stamps)
            assert len(set(stamps)) == len(stamps)
            assert all(timezone.is_aware(stamp) for stamp in stamps)
            assert before - timedelta(days=366) < stamps[0]
            assert stamps[-1] <= timezone.now()

    def test_summary_gives_the_counts_and_the_default_password(self):
        output = seed("--users", "3", "--posts", "10", "--comments", "7")

        assert "Added 10 posts and 7 comments by 3 seeded users" in output
        assert "user1 ... user3" in output
        assert "'password123'" in output

    def test_summary_gives_a_custom_password(self):
        output = seed("--users", "2", "--posts", "1", "--password", "s3cret-pw")

        assert "'s3cret-pw'" in output
        assert "password123" not in output

    def test_seeded_users_log_in_with_the_default_password(self):
        seed("--users", "3", "--posts", "1")

        users = get_user_model().objects.all()
        assert len(users) == 3
        assert all(user.check_password("password123") for user in users)

    def test_seeded_users_log_in_with_a_custom_password(self):
        seed("--users", "3", "--posts", "1", "--password", "s3cret-pw")

        users = get_user_model().objects.all()
        assert len(users) == 3
        assert all(user.check_password("s3cret-pw") for user in users)
        assert not any(user.check_password("password123") for user in users)


class TestDeterminism:
    ARGS = ("--users", "3", "--posts", "8", "--comments", "8", "--reset")
    POSTS_DIGEST = "bda69bae0bab1f653e7f838f06f8b097b17984526841aa057ebf5372132f1764"
    COMMENTS_DIGEST = "2bd3f7b8c01928ca13cd8127a0f6432f23be3dc0c470c30d681f6c4e697d60ea"

    def test_the_same_seed_gives_the_same_posts_and_comments(self):
        seed(*self.ARGS, "--seed", "42")
        first_posts, first_comments = post_rows(), comment_rows()

        seed(*self.ARGS, "--seed", "42")

        assert post_rows() == first_posts
        assert comment_rows() == first_comments

    def test_a_seed_gives_the_same_data_on_every_database(self):
        """Pinned digests: the suite runs on SQLite and on PostgreSQL (executemany on one,
        COPY on the other), so both write exactly these rows. They change only when the
        generator does, or Faker (pinned in requirements.txt) does."""
        seed("--users", "3", "--posts", "20", "--comments", "30", "--seed", "42")

        assert digest(post_rows()) == self.POSTS_DIGEST
        assert digest(comment_rows()) == self.COMMENTS_DIGEST

    def test_a_different_seed_gives_different_data(self):
        seed(*self.ARGS, "--seed", "42")
        first_posts, first_comments = post_rows(), comment_rows()

        seed(*self.ARGS, "--seed", "43")

        assert post_rows() != first_posts
        assert comment_rows() != first_comments


class TestBulkPaths:
    @on_postgresql
    def test_copy_writes_the_same_rows_as_executemany(self):
        args = ("--users", "3", "--posts", "40", "--comments", "60", "--reset", "--seed", "7")
        copy = mock.Mock(wraps=builders._copy)
        with mock.patch.dict(builders.BULK_WRITERS, {"postgresql": copy}):
            seed(*args)
        assert copy.call_count == 2  # posts, then comments
        by_copy = post_rows(), comment_rows(), timeline(Post), timeline(Comment)

        with mock.patch.dict(builders.BULK_WRITERS, clear=True):
            seed(*args)

        assert (post_rows(), comment_rows(), timeline(Post), timeline(Comment)) == by_copy

    @on_postgresql
    def test_postgresql_loads_with_copy(self):
        assert builders.BULK_WRITERS["postgresql"] is builders._copy

    def test_an_interrupt_in_the_middle_of_a_table_writes_nothing(self):
        """Ctrl-C after some batches went in rolls them back with the rest."""
        real_timeline = builders._timeline

        def interrupted_timeline(count):
            stamps = real_timeline(count)
            yield from (next(stamps) for _ in range(count // 2))
            raise KeyboardInterrupt

        with (
            mock.patch("seed.builders._timeline", interrupted_timeline),
            pytest.raises(CommandError, match="Interrupted"),
        ):
            seed("--users", "2", "--posts", "10", "--batch-size", "3")

        assert_nothing_written()
        seed("--users", "2", "--posts", "3")  # the connection is still usable
        assert Post.objects.count() == 3

    @on_postgresql
    def test_an_interrupt_inside_copy_writes_nothing(self):
        """Ctrl-C while psycopg formats a row for COPY: the COPY is abandoned, the run
        rolled back, and the connection still works."""

        class Interrupt:
            """A value whose conversion for PostgreSQL is interrupted."""

        class InterruptDumper(Dumper):
            def dump(self, obj):
                raise KeyboardInterrupt

        connection.ensure_connection()
        connection.connection.adapters.register_dumper(Interrupt, InterruptDumper)
        real_timeline = builders._timeline

        def interrupted_timeline(count):
            stamps = list(real_timeline(count))
            stamps[count // 2] = Interrupt()
            return iter(stamps)

        with (
            mock.patch("seed.builders._timeline", interrupted_timeline),
            pytest.raises(CommandError, match="Interrupted"),
        ):
            seed("--users", "2", "--posts", "10", "--batch-size", "4")

        assert_nothing_written()
        seed("--users", "2", "--posts", "3")
        assert Post.objects.count() == 3

    @on_sqlite
    def test_sqlite_seeds_with_a_bigger_page_cache_and_puts_it_back(self):
        def cache_size():
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                return cursor.fetchone()[0]

        before = cache_size()
        during = []
        real_posts_create = builders.posts_create

        def posts_create(**kwargs):
            during.append(cache_size())
            real_posts_create(**kwargs)

        with mock.patch("seed.management.commands.seed_posts.posts_create", posts_create):
            seed("--users", "2", "--posts", "3")

        assert during == [-builders.SQLITE_CACHE_KIB]
        assert cache_size() == before
        assert Post.objects.count() == 3


class TestProgress:
    class Bar:
        """Stands in for the tqdm bar: records what the command tells it."""

        def __init__(self, options):
            self.total = options["posts"] + options["comments"]
            self.done = 0
            self.steps = []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def set_description(self, step):
            self.steps.append(step)

        def update(self, rows):
            self.done += rows

        def refresh(self):
            pass

    def run(self, *args):
        bars = []

        def progress_bar(options):
            bars.append(self.Bar(options))
            return bars[-1]

        with mock.patch("seed.management.commands.seed_posts.progress_bar", progress_bar):
            seed(*args)
        return bars[0]

    def test_counts_every_row_and_names_each_step(self):
        bar = self.run("--users", "2", "--posts", "10", "--comments", "7", "--batch-size", "3")

        assert bar.done == bar.total == 17
        assert bar.steps == ["users", "posts", "post ids", "comments", "commit"]

    def test_names_the_reset_step(self):
        bar = self.run("--users", "2", "--posts", "3", "--comments", "0", "--reset")

        assert bar.steps == ["reset", "users", "posts", "commit"]

    def test_counts_the_post_ids_it_has_to_read(self):
        seed("--users", "2", "--posts", "10")
        Post.objects.filter(id__in=list(Post.objects.values_list("id", flat=True)[3:5])).delete()

        bar = self.run("--users", "2", "--posts", "0", "--comments", "5")

        assert bar.done == bar.total == 5 + 8


class TestPostIds:
    def read(self, chunk_size=1000):
        calls = {"expect": [], "progress": []}
        ids = builders.post_ids_read(
            chunk_size=chunk_size,
            expect=calls["expect"].append,
            progress=calls["progress"].append,
        )
        return ids, calls

    def newest_first(self):
        return list(Post.objects.order_by("-id").values_list("id", flat=True))

    def test_an_unbroken_run_of_ids_is_a_range_and_reads_no_id(self, django_assert_num_queries):
        seed("--users", "2", "--posts", "10")

        with django_assert_num_queries(1):
            ids, calls = self.read()

        assert isinstance(ids, range)
        assert list(ids) == self.newest_first()
        assert calls == {"expect": [], "progress": []}

    def test_ids_with_gaps_are_read_into_an_array_a_chunk_at_a_time(self):
        seed("--users", "2", "--posts", "10")
        Post.objects.filter(id__in=self.newest_first()[2:5]).delete()

        ids, calls = self.read(chunk_size=3)

        assert isinstance(ids, array)
        assert ids.itemsize == 8
        assert list(ids) == self.newest_first()
        assert calls == {"expect": [7], "progress": [3, 3, 1]}

    def test_no_posts_is_an_empty_sequence(self):
        ids, calls = self.read()

        assert len(ids) == 0
        assert calls == {"expect": [], "progress": []}

    @pytest.mark.parametrize("ids", [range(50, 0, -1), array("q", range(50, 0, -1))])
    def test_a_seed_picks_the_same_post_from_a_compact_sequence_as_from_a_list(self, ids):
        """Why the compact forms keep a seed's comments on the same posts."""
        from_list, from_compact = random.Random(3), random.Random(3)

        assert [from_compact.choice(ids) for _ in range(100)] == [
            from_list.choice(list(ids)) for _ in range(100)
        ]

    def test_comments_go_on_posts_with_gaps_in_their_ids(self):
        seed("--users", "2", "--posts", "10")
        Post.objects.filter(id__in=self.newest_first()[::2]).delete()

        seed("--users", "2", "--posts", "0", "--comments", "40")

        post_ids = set(Post.objects.values_list("id", flat=True))
        assert set(Comment.objects.values_list("post_id", flat=True)) <= post_ids
        assert len(set(Comment.objects.values_list("post_id", flat=True))) > 1


class TestWithoutReset:
    def test_a_second_run_adds_posts_and_comments_but_not_users(self):
        seed("--users", "3", "--posts", "10", "--comments", "6")

        seed("--users", "3", "--posts", "10", "--comments", "6")

        assert Post.objects.count() == 20
        assert Comment.objects.count() == 12
        assert get_user_model().objects.count() == 3
        assert usernames() == {"user1", "user2", "user3"}

    def test_an_existing_seeded_user_is_reused_and_given_the_new_password(self, django_user_model):
        existing = django_user_model.objects.create_user("user1", password="old-password")

        seed("--users", "2", "--posts", "1", "--password", "new-password")

        reused = django_user_model.objects.get(username="user1")
        assert reused.id == existing.id
        assert reused.check_password("new-password")
        assert not reused.check_password("old-password")
        assert usernames() == {"user1", "user2"}


class TestReset:
    SURVIVORS = ["alice", "user1x", "superuser", "xuser1", "user", "User1"]

    def test_deletes_every_post_and_comment_including_other_users(self, post, comment):
        seed("--users", "2", "--posts", "3", "--comments", "2")

        seed("--users", "2", "--posts", "4", "--comments", "1", "--reset")

        assert Post.objects.count() == 4
        assert Comment.objects.count() == 1
        assert not Post.objects.filter(id=post.id).exists()
        assert not Comment.objects.filter(id=comment.id).exists()

    def test_deletes_the_seeded_users_and_keeps_every_other_user(self, django_user_model):
        for name in self.SURVIVORS:
            baker.make(django_user_model, username=name)
        seed("--users", "5", "--posts", "1")
        old_user1 = django_user_model.objects.get(username="user1")

        seed("--users", "2", "--posts", "1", "--reset")

        assert usernames() == {*self.SURVIVORS, "user1", "user2"}
        assert django_user_model.objects.get(username="user1").id != old_user1.id

    def test_says_what_it_deleted(self, post, comment):
        seed("--users", "2", "--posts", "3", "--comments", "2")

        output = seed("--users", "1", "--posts", "1", "--reset", "--verbosity", "2")

        assert "Deleted 4 posts, 3 comments and 2 seeded users." in output

    def test_posts_of_a_kept_user_are_still_deleted(self, django_user_model):
        alice = baker.make(django_user_model, username="alice")
        baker.make(Post, user=alice, _quantity=3)

        seed("--users", "1", "--posts", "0", "--comments", "0", "--reset")

        assert not Post.objects.exists()
        assert django_user_model.objects.filter(username="alice").exists()


class TestBadInput:
    @pytest.mark.parametrize(
        "args, message",
        [
            (["--users", "3", "--posts", "-1"], "negative"),
            (["--users", "3", "--comments", "abc"], "not a whole number"),
            (["--users", "3", "--posts", "2", "--batch-size", "0"], "at least 1"),
            (["--users", "3", "--posts", "0", "--comments", "5"], "Comments need posts"),
            (["--users", "0", "--posts", "5", "--comments", "0"], "--users 1 or more"),
        ],
        ids=[
            "negative posts",
            "non-integer comments",
            "zero batch size",
            "comments without posts",
            "posts without users",
        ],
    )
    def test_is_a_command_error_and_nothing_is_written(self, args, message):
        with pytest.raises(CommandError, match=message):
            seed(*args)

        assert_nothing_written()

    def test_the_error_names_the_option(self):
        with pytest.raises(CommandError, match="--posts"):
            seed("--posts", "-1")

    def test_a_failed_reset_keeps_the_old_data(self, post, comment):
        """--reset empties the posts table, so comments then have nothing to go on."""
        with pytest.raises(CommandError, match="Comments need posts"):
            seed("--users", "2", "--posts", "0", "--comments", "5", "--reset")

        assert list(Post.objects.all()) == [post]
        assert list(Comment.objects.all()) == [comment]


class TestInterrupted:
    def interrupt_after_posts(self, seen):
        """A comments_create stand-in: note what the run had written, then Ctrl-C."""

        def interrupt(**kwargs):
            seen["posts"] = Post.objects.count()
            seen["users"] = get_user_model().objects.count()
            raise KeyboardInterrupt

        return mock.patch(
            "seed.management.commands.seed_posts.comments_create", side_effect=interrupt
        )

    def test_is_a_command_error_and_nothing_is_written(self):
        seen = {}

        with self.interrupt_after_posts(seen), pytest.raises(CommandError) as raised:
            seed("--users", "3", "--posts", "10", "--comments", "5")

        assert "Interrupted" in str(raised.value)
        assert raised.value.returncode == 130
        assert seen == {"posts": 10, "users": 3}  # written, then rolled back
        assert_nothing_written()

    def test_an_interrupted_reset_keeps_the_old_data(self, django_user_model):
        baker.make(Post, user=baker.make(django_user_model, username="alice"))
        seed("--users", "2", "--posts", "4", "--comments", "3")
        old_posts, old_comments, old_users = post_rows(), comment_rows(), usernames()
        seen = {}

        with self.interrupt_after_posts(seen), pytest.raises(CommandError, match="Interrupted"):
            seed("--users", "3", "--posts", "6", "--comments", "5", "--reset")

        assert seen["posts"] == 6  # the reset and the new posts had happened
        assert post_rows() == old_posts
        assert comment_rows() == old_comments
        assert usernames() == old_users


def table_state(model) -> tuple[float, int, int]:
    """PostgreSQL's idea of a table: estimated rows, pages, pages all-visible."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples, relpages, relallvisible FROM pg_class WHERE relname = %s",
            [model._meta.db_table],
        )
        return cursor.fetchone()


def count_plan() -> str:
    with connection.cursor() as cursor:
        cursor.execute(f'EXPLAIN SELECT COUNT(*) FROM "{Post._meta.db_table}"')
        return "\n".join(line for (line,) in cursor.fetchall())


class TestSettled:
    """On PostgreSQL, the tables written are vacuumed and analysed after the commit, as
    autovacuum would do some time later (or never, where it is off)."""

    @vacuumed
    @pytest.mark.django_db(transaction=True)
    def test_the_tables_written_have_statistics_and_a_visibility_map(self):
        seed("--users", "3", "--posts", "2000", "--comments", "10")

        rows, pages, visible = table_state(Post)
        assert rows == 2000
        assert visible == pages > 1
        assert table_state(Comment)[0] == 10
        # So the paginated stage's COUNT(*) reads the smallest index, not the table.
        assert "Index Only Scan" in count_plan()

    @vacuumed
    def test_inside_a_callers_transaction_only_the_statistics_are_gathered(self):
        seed("--users", "3", "--posts", "50", "--comments", "0")

        assert table_state(Post)[0] == 50

    def test_only_the_tables_written_are_settled(self):
        with mock.patch("seed.management.commands.seed_posts.tables_settle") as settle:
            seed("--users", "2", "--posts", "0", "--comments", "0")
            seed("--users", "2", "--posts", "3", "--comments", "2")

        assert [call.args[0] for call in settle.call_args_list] == [
            [get_user_model()],
            [get_user_model(), Post, Comment],
        ]

    def test_an_interrupt_while_settling_keeps_the_rows_and_says_so(self):
        settle = mock.patch(
            "seed.management.commands.seed_posts.tables_settle", side_effect=KeyboardInterrupt
        )

        with settle, pytest.raises(CommandError) as raised:
            seed("--users", "2", "--posts", "3", "--comments", "2")

        assert "Interrupted after the commit: every row is written" in str(raised.value)
        assert raised.value.returncode == 130
        assert (Post.objects.count(), Comment.objects.count()) == (3, 2)


class TestIfEmpty:
    def test_does_nothing_when_posts_exist(self, post):
        output = seed("--users", "3", "--posts", "5", "--comments", "5", "--if-empty")

        assert "already holds posts" in output
        assert list(Post.objects.all()) == [post]
        assert not Comment.objects.exists()
        assert usernames() == {"alice"}

    def test_seeds_when_there_are_no_posts(self):
        output = seed("--users", "3", "--posts", "5", "--comments", "4", "--if-empty")

        assert "Added 5 posts and 4 comments by 3 seeded users" in output
        assert Post.objects.count() == 5
        assert Comment.objects.count() == 4


class TestHelp:
    def test_every_option_has_help_text(self):
        parser = Command().create_parser("manage.py", "seed_posts")

        actions = {a.dest: a for a in parser._actions if a.dest in OPTION_DESTS}

        assert set(actions) == OPTION_DESTS
        for dest, action in actions.items():
            assert action.help and action.help.strip(), f"--{dest} has no help"

    def test_help_renders_every_option(self):
        """The %(default)s placeholders expand without error."""
        parser = Command().create_parser("manage.py", "seed_posts")

        text = parser.format_help()

        for dest in OPTION_DESTS:
            assert "--" + dest.replace("_", "-") in text


class TestCommandLine:
    def test_a_parse_error_exits_non_zero_with_a_message_and_no_traceback(self):
        """Fails while parsing, before any database is touched."""
        result = subprocess.run(
            [sys.executable, "manage.py", "seed_posts", "--posts", "-1"],
            cwd=REPO_ROOT,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert result.returncode != 0
        assert "--posts" in result.stderr
        assert "negative" in result.stderr
        assert "Traceback" not in result.stderr
