"""`manage.py seed_posts`: how much it writes, that a seed repeats it, what --reset
deletes, and that bad input or Ctrl-C leaves the database as it was."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from model_bakery import baker

from blog.models import Comment, Post
from seed.management.commands.seed_posts import Command

pytestmark = pytest.mark.django_db

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

    def test_the_same_seed_gives_the_same_posts_and_comments(self):
        seed(*self.ARGS, "--seed", "42")
        first_posts, first_comments = post_rows(), comment_rows()

        seed(*self.ARGS, "--seed", "42")

        assert post_rows() == first_posts
        assert comment_rows() == first_comments

    def test_a_different_seed_gives_different_data(self):
        seed(*self.ARGS, "--seed", "42")
        first_posts, first_comments = post_rows(), comment_rows()

        seed(*self.ARGS, "--seed", "43")

        assert post_rows() != first_posts
        assert comment_rows() != first_comments


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
