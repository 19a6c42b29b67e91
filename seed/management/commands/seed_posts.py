import argparse
import random
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from faker import Faker
from tqdm import tqdm

from blog.models import Comment, Post
from loadtest.arguments import non_negative_int, positive_int
from seed.accounts import DEFAULT_PASSWORD
from seed.builders import (
    bulk_load_settings,
    comments_create,
    post_ids_read,
    posts_create,
    seed_data_reset,
    tables_settle,
    users_ensure,
)

DEFAULT_SEED = 1234
# Large enough that per-batch overhead vanishes, small enough to keep memory flat.
DEFAULT_BATCH_SIZE = 5_000
# Below this many rows the run is over before a progress bar could say anything.
PROGRESS_MIN_ROWS = 20_000


def non_blank(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be blank: the load test logs in with it")
    return value


def progress_bar(options) -> tqdm:
    """A bar counting the posts and comments written, labelled with the current step."""
    rows = options["posts"] + options["comments"]
    return tqdm(
        total=rows,
        unit=" rows",
        unit_scale=True,
        leave=False,
        # None: shown only on a terminal, so logs and tests stay clean.
        disable=True if rows < PROGRESS_MIN_ROWS or not options["verbosity"] else None,
    )


def bar_extend(bar: tqdm, rows: int) -> None:
    """Add `rows` to what the progress bar counts toward."""
    bar.total += rows
    bar.refresh()


class Command(BaseCommand):
    help = (
        "Fill the database with fake posts and comments by the users user1 ... userN, "
        "fast (bulk inserts, one password hash) and repeatably (--seed). Everything "
        "happens in one transaction: on an error or Ctrl-C nothing is written. On "
        "PostgreSQL the tables written are then vacuumed and analysed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--users",
            type=non_negative_int,
            default=20,
            help="Seeded users user1 ... userN to write as; existing ones are reused "
            "and given --password (default: %(default)s).",
        )
        parser.add_argument(
            "--posts",
            type=non_negative_int,
            default=5_000,
            help="Posts to add (default: %(default)s).",
        )
        parser.add_argument(
            "--comments",
            type=non_negative_int,
            default=5_000,
            help="Comments to add, each on a random existing post (default: %(default)s).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help="Random seed: the same seed gives the same titles, bodies and authors "
            "(default: %(default)s).",
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=DEFAULT_BATCH_SIZE,
            help="Rows written per batch, and per step of the progress bar; memory grows "
            "with it (default: %(default)s).",
        )
        parser.add_argument(
            "--password",
            type=non_blank,
            default=DEFAULT_PASSWORD,
            help="Password of every seeded user (default: %(default)s).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="First delete all posts and comments, and every seeded user (user1, "
            "user2, ...: 'user' and digits); other users are kept. Without it, data is added.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if the database already holds posts (used by `make serve`).",
        )

    def handle(self, *args, **options):
        if options["if_empty"] and not options["reset"] and Post.objects.exists():
            self.stdout.write("The database already holds posts; nothing seeded.")
            return
        started = time.perf_counter()
        try:
            # The bar covers the whole run, commit included. The settings go outside
            # the transaction, so that they are put back after a rollback too.
            with (
                progress_bar(options) as bar,
                bulk_load_settings(),
                transaction.atomic(),
            ):
                counts = self.seed(options, bar)
                bar.set_description("commit")
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted: rolled back, nothing was written.", returncode=130
            ) from None
        try:
            tables_settle(self.written(options))
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted after the commit: every row is written, but the tables are "
                "not vacuumed and analysed yet (`VACUUM (ANALYZE)` does it).",
                returncode=130,
            ) from None
        elapsed = time.perf_counter() - started
        if not options["verbosity"]:
            return
        summary = (
            f"Added {counts['posts']:,} posts and {counts['comments']:,} comments by "
            f"{counts['users']:,} seeded users in {elapsed:.1f} s."
        )
        if counts["users"]:
            summary += (
                f" Log in as user1 ... user{counts['users']} with password {options['password']!r}."
            )
        self.stdout.write(self.style.SUCCESS(summary))

    def written(self, options) -> list:
        """The models whose tables this run wrote to (or emptied, with --reset)."""
        models = [get_user_model()]
        models += [Post] if options["posts"] or options["reset"] else []
        models += [Comment] if options["comments"] or options["reset"] else []
        return models

    def seed(self, options, bar: tqdm):
        if (options["posts"] or options["comments"]) and not options["users"]:
            raise CommandError("Posts and comments need authors: use --users 1 or more.")
        if options["reset"]:
            bar.set_description("reset")
            deleted = seed_data_reset()
            if options["verbosity"] > 1:
                with tqdm.external_write_mode():
                    self.stdout.write(
                        f"Deleted {deleted['posts']:,} posts, {deleted['comments']:,} "
                        f"comments and {deleted['users']:,} seeded users."
                    )
        if options["comments"] and not options["posts"] and not Post.objects.exists():
            raise CommandError(
                "Comments need posts, and the database has none: add --posts 1 or more."
            )

        bar.set_description("users")
        author_ids = users_ensure(
            count=options["users"],
            password=options["password"],
            batch_size=options["batch_size"],
        )
        rng = random.Random(options["seed"])
        fake = Faker()
        fake.seed_instance(options["seed"])
        bar.set_description("posts")
        posts_create(
            count=options["posts"],
            author_ids=author_ids,
            rng=rng,
            fake=fake,
            batch_size=options["batch_size"],
            progress=bar.update,
        )
        if options["comments"]:
            # Each comment picks its post from these. Usually one unbroken run of ids,
            # read in one query; otherwise each id is read, and the bar counts them too.
            bar.set_description("post ids")
            post_ids = post_ids_read(
                chunk_size=options["batch_size"],
                expect=lambda ids: bar_extend(bar, ids),
                progress=bar.update,
            )
            bar.set_description("comments")
            comments_create(
                count=options["comments"],
                author_ids=author_ids,
                post_ids=post_ids,
                rng=rng,
                fake=fake,
                batch_size=options["batch_size"],
                progress=bar.update,
            )
        return {key: options[key] for key in ("users", "posts", "comments")}
