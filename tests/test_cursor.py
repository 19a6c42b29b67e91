"""The `cursor` stage: keyset pagination on (created_at, id), and why page numbers are not enough.

Query counts per list are asserted at every stage by the table test in test_stages.py;
the tests here add what a cursor changes: the response, the walk, and tampering.
"""

from base64 import urlsafe_b64encode
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from model_bakery import baker
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from blog.models import Post
from stages.cursor import Cursor, KeysetPagination, Position

pytestmark = pytest.mark.django_db

PAGE_SIZE = 20
MOMENT = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(autouse=True)
def cursor_stage(at_stage):
    at_stage("cursor")


def ids(page):
    return [row["id"] for row in page["results"]]


def newest_first(rows):
    """The ids of `rows` in the stage's order, by their stored created_at: newest first,
    the higher id first on a tie."""
    rows = Post.objects.filter(id__in=[row.id for row in rows]) if rows else []
    return [row.id for row in sorted(rows, key=lambda row: (row.created_at, row.id), reverse=True)]


def follow_next(client, page):
    """Follow `next` from `page` to the last page; return every id served on the way."""
    served = []
    while page["next"]:
        page = client.get(page["next"]).json()
        served += ids(page)
    return served


def all_at_one_moment(posts):
    """Give every post the same created_at: the case where only the id orders them."""
    Post.objects.filter(id__in=[post.id for post in posts]).update(created_at=MOMENT)


def cursor(*tokens, text=None):
    """A cursor wrapped as encode_cursor() wraps one, around any tokens or text."""
    return urlsafe_b64encode((text if text is not None else urlencode(tokens)).encode()).decode()


# The time token of a cursor issued for a row created at MOMENT, as encode_cursor() writes it.
T = ("t", MOMENT.isoformat())


class TestResponseShape:
    def test_a_list_is_results_and_two_links_without_a_count(self, api_client, make_posts):
        make_posts(PAGE_SIZE + 5)

        response = api_client.get("/api/posts/")

        assert response.status_code == 200
        data = response.json()
        assert set(data) == {"next", "previous", "results"}
        assert len(data["results"]) == PAGE_SIZE
        assert data["previous"] is None

    def test_next_is_an_opaque_cursor_not_a_page_number(self, api_client, make_posts):
        make_posts(PAGE_SIZE + 5)

        next_url = api_client.get("/api/posts/").json()["next"]

        url = urlsplit(next_url)
        assert url.path == "/api/posts/"
        assert set(parse_qs(url.query)) == {"cursor"}

    def test_the_last_page_has_no_next(self, api_client, make_posts):
        make_posts(PAGE_SIZE + 5)
        first = api_client.get("/api/posts/").json()

        last = api_client.get(first["next"]).json()

        assert len(last["results"]) == 5
        assert last["next"] is None
        assert last["previous"] is not None

    def test_details_are_not_paginated(self, api_client, post):
        response = api_client.get(f"/api/posts/{post.id}/")

        assert response.json()["id"] == post.id


class TestOrder:
    def test_pages_run_newest_first_and_the_id_breaks_ties(self, api_client, make_posts):
        made = make_posts(PAGE_SIZE * 2 + 5)
        all_at_one_moment(made[10:30])  # a tie that straddles the first page boundary

        first = api_client.get("/api/posts/").json()
        served = ids(first) + follow_next(api_client, first)

        assert served == newest_first(made)

    def test_the_order_is_by_creation_time_not_by_id(self, api_client, make_posts):
        older, newer = make_posts(2)
        Post.objects.filter(id=newer.id).update(created_at=MOMENT.replace(year=2000))

        response = api_client.get("/api/posts/")

        assert ids(response.json()) == [older.id, newer.id]


class TestRowsAddedOrRemovedMidWalk:
    """The lesson of this stage: a cursor names a row, so rows that come and go between
    two requests move nothing; a page number names a position, and positions move."""

    def test_posts_created_mid_walk_are_neither_repeated_nor_skipped(
        self, api_client, author_client, make_posts
    ):
        made = make_posts(PAGE_SIZE * 2 + 5)
        first = api_client.get("/api/posts/").json()

        for n in range(3):
            author_client.post("/api/posts/", {"title": f"New {n}", "body": "."}, format="json")
        served = ids(first) + follow_next(api_client, first)

        assert served == newest_first(made)
        assert len(served) == len(set(served))

    def test_the_paginated_stage_repeats_a_row_when_a_post_is_created_mid_walk(
        self, api_client, author_client, make_posts, at_stage
    ):
        """For contrast: the same walk at `paginated` serves page 1's last row twice."""
        at_stage("paginated")
        make_posts(PAGE_SIZE * 2 + 5)
        first = api_client.get("/api/posts/").json()

        author_client.post("/api/posts/", {"title": "New", "body": "."}, format="json")
        second = api_client.get(first["next"]).json()

        assert ids(second)[0] == ids(first)[-1]

    def test_a_post_tied_with_the_page_boundary_is_not_served_twice(self, api_client, make_posts):
        made = make_posts(PAGE_SIZE * 2 + 5)
        all_at_one_moment(made)
        first = api_client.get("/api/posts/").json()

        baker.make(Post, created_at=MOMENT)  # same moment, higher id: ahead of the cursor
        served = ids(first) + follow_next(api_client, first)

        assert served == newest_first(made)

    def test_a_deleted_post_makes_no_later_page_skip_a_row(self, api_client, make_posts):
        """Even the row the cursor names may go: the cursor is its key, not the row."""
        expected = newest_first(make_posts(PAGE_SIZE * 2 + 5))
        first = api_client.get("/api/posts/").json()

        Post.objects.filter(id__in=ids(first)[-2:]).delete()
        served = ids(first) + follow_next(api_client, first)

        assert served == expected


class TestWhyNotDrfCursorPagination:
    """DRF's own CursorPagination filters on the first ordering field only and counts
    past equal values with an offset; this is the case that breaks it."""

    class DrfCursorPagination(CursorPagination):
        ordering = ("-created_at", "-id")
        page_size = PAGE_SIZE

    def drf_page(self, url):
        request = Request(APIRequestFactory().get(url))
        paginator = self.DrfCursorPagination()
        rows = paginator.paginate_queryset(Post.objects.all(), request)
        return [row.id for row in rows], paginator.get_next_link()

    def test_drf_repeats_a_row_when_a_tied_post_arrives_mid_walk(self, make_posts):
        all_at_one_moment(make_posts(PAGE_SIZE * 2 + 5))
        first, next_url = self.drf_page("/api/posts/")

        baker.make(Post, created_at=MOMENT)
        second, _ = self.drf_page(next_url)

        assert second[0] == first[-1]


class TestFollowingPrevious:
    def test_previous_leads_back_through_the_same_pages(self, api_client, make_posts):
        make_posts(PAGE_SIZE * 2 + 5)
        first = api_client.get("/api/posts/").json()
        second = api_client.get(first["next"]).json()
        third = api_client.get(second["next"]).json()

        back_to_second = api_client.get(third["previous"]).json()
        back_to_first = api_client.get(back_to_second["previous"]).json()

        assert ids(back_to_second) == ids(second)
        assert ids(back_to_first) == ids(first)
        assert back_to_first["previous"] is None
        assert back_to_first["next"] is not None

    def test_walking_back_reaches_the_posts_created_meanwhile(
        self, api_client, author_client, make_posts
    ):
        make_posts(PAGE_SIZE * 2 + 5)
        first = api_client.get("/api/posts/").json()
        second = api_client.get(first["next"]).json()
        created = [
            author_client.post("/api/posts/", {"title": f"New {n}", "body": "."}, format="json")
            for n in range(3)
        ]

        back = api_client.get(second["previous"]).json()
        newest = api_client.get(back["previous"]).json()

        assert ids(back) == ids(first)
        assert ids(newest) == [response.json()["id"] for response in reversed(created)]
        assert newest["previous"] is None


class TestPageSize:
    @pytest.mark.parametrize(
        "page_size, expected",
        [("5", 5), ("100", 100), ("1000", 100)],
        ids=["smaller", "the cap", "above the cap"],
    )
    def test_page_size_is_honoured_up_to_the_cap(
        self, api_client, make_comments, page_size, expected
    ):
        make_comments(101)

        response = api_client.get("/api/comments/", {"page_size": page_size})

        assert response.status_code == 200
        assert len(response.json()["results"]) == expected

    def test_next_keeps_the_page_size(self, api_client, make_posts):
        make_posts(12)
        first = api_client.get("/api/posts/", {"page_size": 5}).json()

        second = api_client.get(first["next"]).json()

        assert len(second["results"]) == 5


class TestPostComments:
    def test_a_posts_comments_are_walked_by_cursor(self, api_client, post, make_comments):
        made = make_comments(PAGE_SIZE + 5, post=post)
        make_comments(3)  # on other posts: not in this list

        first = api_client.get(f"/api/posts/{post.id}/comments/").json()
        served = ids(first) + follow_next(api_client, first)

        assert set(first) == {"next", "previous", "results"}
        assert len(first["results"]) == PAGE_SIZE
        expected = sorted(made, key=lambda row: (row.created_at, row.id), reverse=True)
        assert served == [comment.id for comment in expected]


class TestFollowingACursorCostsOneQuery:
    """The table test counts a list's first page; a cursor's page costs the same."""

    def test_next_and_previous_pages_cost_one_query(
        self, api_client, make_posts, django_assert_num_queries
    ):
        make_posts(PAGE_SIZE * 2 + 5)
        first = api_client.get("/api/posts/").json()

        with django_assert_num_queries(1):
            second = api_client.get(first["next"]).json()
        with django_assert_num_queries(1):
            back = api_client.get(second["previous"]).json()

        assert ids(back) == ids(first)


class TestTamperedCursor:
    @pytest.mark.parametrize(
        "value",
        [
            "not-base64!",
            "é",
            cursor(text="not a query string"),
            cursor(text=""),
            cursor(T),
            cursor(("i", 5)),
            cursor(("t", "yesterday"), ("i", 5)),
            cursor(T, ("i", "five")),
            cursor(T, ("i", 0)),
            cursor(T, ("i", -1)),
            cursor(T, ("i", 2**63)),
            cursor(("t", "2026-01-01T12:00:00"), ("i", 5)),
            cursor(("t", "2026-01-01T12:00:00+05:00"), ("i", 5)),
            cursor(("t", "0001-01-01T00:00:00+05:00"), ("i", 5)),
            cursor(T, ("i", 5), ("r", 2)),
            cursor(T, ("i", 5), ("o", 20)),
            cursor(T, ("i", 5), ("i", 6)),
            cursor(("t", "2026-01-01 12:00:00.123456+00:00"), ("i", 5)),
        ],
        ids=[
            "not base64",
            "not ascii",
            "not a query string",
            "empty",
            "no id",
            "no time",
            "not a time",
            "id not a number",
            "id zero",
            "id negative",
            "id beyond bigint",
            "time without zone",
            "time not in UTC",
            "time out of range in UTC",
            "unknown direction",
            "an offset",
            "two ids",
            "time not as issued",
        ],
    )
    @pytest.mark.parametrize("path", ["/api/posts/", "/api/comments/"])
    def test_a_cursor_this_stage_never_issued_is_a_404_with_a_message(
        self, api_client, make_posts, path, value
    ):
        make_posts(3)

        response = api_client.get(path, {"cursor": value})

        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid cursor"}

    def test_a_tampered_cursor_on_a_posts_comments_is_a_404_too(self, api_client, post):
        response = api_client.get(f"/api/posts/{post.id}/comments/", {"cursor": "garbage"})

        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid cursor"}

    @pytest.mark.parametrize("year", [1, 9999])
    def test_a_well_formed_cursor_at_the_edge_of_time_is_an_ordinary_page(
        self, api_client, make_posts, year
    ):
        """The range a datetime holds is the range the databases store: no 500."""
        made = make_posts(3)
        edge = MOMENT.replace(year=year).isoformat()

        response = api_client.get("/api/posts/", {"cursor": cursor(("t", edge), ("i", 1))})

        assert response.status_code == 200
        assert ids(response.json()) == (newest_first(made) if year == 9999 else [])

    def test_what_the_stage_issues_round_trips(self):
        """The strict decoder accepts every cursor the encoder writes."""
        paginator = KeysetPagination()
        paginator.base_url = "http://testserver/api/posts/"

        next_url = paginator.encode_cursor(Cursor(reverse=True, position=Position(MOMENT, 7)))

        decoded = paginator.decode_cursor(Request(APIRequestFactory().get(next_url)))

        assert decoded.reverse is True
        assert tuple(decoded.position) == (MOMENT, 7)
