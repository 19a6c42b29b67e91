"""Bad input: bodies that are not JSON objects, wrong content types, NUL bytes, odd
Unicode, ids no database column holds, stray query parameters and dead tokens.

Each is refused with a 4xx and nothing written, or accepted and stored intact; none is a
500, on SQLite or on PostgreSQL. (Missing, blank and oversized fields on create, plain
unknown and non-numeric ids, and the paginated posts list's page numbers are covered in
test_posts.py, test_comments.py and test_stages.py.)
"""

import json

import pytest
from django.conf import settings
from model_bakery import baker
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from blog.models import BODY_MAX_LENGTH, TITLE_MAX_LENGTH, Comment, Post
from tests.helpers import results

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"

# Every request that writes, with a body it accepts. The URL's {post} and {comment} are
# alice's; sign-in is bob's, who has no token yet, so that a refused one creates none.
WRITES = {
    "create a post": ("POST", "/api/posts/", {"title": "New", "body": "Text"}),
    "change a post": ("PATCH", "/api/posts/{post}/", {"title": "New"}),
    "comment on a post": ("POST", "/api/posts/{post}/comments/", {"body": "New"}),
    "change a comment": ("PATCH", "/api/comments/{comment}/", {"body": "New"}),
    "sign in": ("POST", TOKEN_URL, {"username": "bob", "password": "bob-password"}),
}


def stored():
    """Every post, comment and token as stored: a refused write changes none of it."""
    return (
        list(Post.objects.values_list("id", "title", "body")),
        list(Comment.objects.values_list("id", "body")),
        list(Token.objects.values_list("key", flat=True)),
    )


@pytest.fixture(params=list(WRITES))
def write(request, author_client, post, comment, other_user):
    """Send one of WRITES, as alice, with the body and content type given."""
    method, path, valid = WRITES[request.param]
    url = path.format(post=post.id, comment=comment.id)

    def send(body=None, content_type="application/json"):
        if body is None:
            body = json.dumps(valid)
        return author_client.generic(method, url, body, content_type=content_type)

    return send


def post_url(post_id):
    return f"/api/posts/{post_id}/"


def comment_url(comment_id):
    return f"/api/comments/{comment_id}/"


def post_comments_url(post_id):
    return f"/api/posts/{post_id}/comments/"


class TestTheWritesUnderTest:
    def test_each_write_succeeds_with_its_valid_body(self, write):
        """The control for this file: a refusal below is the input's doing, not the request's."""
        before = stored()

        response = write()

        assert response.status_code in (200, 201)
        assert stored() != before


class TestBodiesThatAreNotJson:
    @pytest.mark.parametrize(
        "body",
        [
            '{"title": "T",',
            "{'title': 'T', 'body': 'B'}",
            '{"title": NaN, "body": "B"}',
            b'{"title": "\xff", "body": "B"}',
            "[" * 5000 + "]" * 5000,
        ],
        ids=["truncated", "single quotes", "NaN", "not UTF-8", "nested 5000 deep"],
    )
    def test_a_body_that_does_not_parse_is_a_400_and_nothing_is_written(self, write, body):
        before = stored()

        response = write(body)

        assert response.status_code == 400
        assert response.json()["detail"].startswith("JSON parse error")
        assert stored() == before


class TestJsonThatIsNotAnObject:
    @pytest.mark.parametrize(
        "body",
        ['["New", "Text"]', '"New"', "42", "true", "null"],
        ids=["list", "string", "number", "boolean", "null"],
    )
    def test_anything_but_an_object_is_a_400_and_nothing_is_written(self, write, body):
        before = stored()

        response = write(body)

        assert response.status_code == 400
        assert "non_field_errors" in response.json()
        assert stored() == before


class TestContentTypes:
    @pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
    def test_a_type_the_api_does_not_parse_is_a_415_and_nothing_is_written(
        self, write, content_type
    ):
        before = stored()

        response = write(content_type=content_type)

        assert response.status_code == 415
        assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}
        assert stored() == before

    def test_a_form_is_accepted_like_json(self, author_client, user):
        response = author_client.post("/api/posts/", {"title": "Form", "body": "Encoded"})

        assert response.status_code == 201
        assert Post.objects.get().title == "Form"


class TestFieldValues:
    @pytest.mark.parametrize(
        "data, field",
        [
            ({"title": ""}, "title"),
            ({"title": " \t\n"}, "title"),
            ({"title": "x" * (TITLE_MAX_LENGTH + 1)}, "title"),
            ({"body": "x" * (BODY_MAX_LENGTH + 1)}, "body"),
            ({"title": ["New"]}, "title"),
            ({"title": {"text": "New"}}, "title"),
            ({"title": True}, "title"),
            ({"title": None}, "title"),
        ],
        ids=[
            "blank",
            "whitespace",
            "oversized title",
            "oversized body",
            "list",
            "object",
            "boolean",
            "null",
        ],
    )
    def test_an_invalid_change_to_a_post_is_a_400_naming_the_field(
        self, author_client, post, data, field
    ):
        before = stored()

        response = author_client.patch(post_url(post.id), data, format="json")

        assert response.status_code == 400
        assert field in response.json()
        assert stored() == before

    def test_replacing_a_post_needs_every_field(self, author_client, post):
        before = stored()

        response = author_client.put(post_url(post.id), {"title": "Only a title"}, format="json")

        assert response.status_code == 400
        assert set(response.json()) == {"body"}
        assert stored() == before

    @pytest.mark.parametrize(
        "body",
        ["", "  ", "x" * (BODY_MAX_LENGTH + 1), None, ["New"]],
        ids=["blank", "whitespace", "oversized", "null", "list"],
    )
    def test_an_invalid_change_to_a_comment_is_a_400_naming_the_field(
        self, author_client, comment, body
    ):
        before = stored()

        response = author_client.patch(comment_url(comment.id), {"body": body}, format="json")

        assert response.status_code == 400
        assert "body" in response.json()
        assert stored() == before

    def test_fields_at_their_longest_are_accepted_whole(self, author_client):
        title, body = "t" * TITLE_MAX_LENGTH, "b" * BODY_MAX_LENGTH

        response = author_client.post("/api/posts/", {"title": title, "body": body}, format="json")

        assert response.status_code == 201
        assert Post.objects.values_list("title", "body").get() == (title, body)

    def test_fields_the_server_sets_are_ignored_in_the_body(self, author_client, user):
        response = author_client.post(
            "/api/posts/",
            {
                "title": "T",
                "body": "B",
                "id": 424242,
                "url": "http://elsewhere.example/",
                "created_at": "2000-01-01T00:00:00Z",
                "likes": 1000,
            },
            format="json",
        )

        assert response.status_code == 201
        created = Post.objects.get()
        assert created.id != 424242
        assert created.created_at.year != 2000
        assert response.json()["url"].endswith(post_url(created.id))

    def test_a_body_over_djangos_upload_limit_is_a_400(self, author_client):
        body = json.dumps({"title": "T", "body": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE})

        response = author_client.generic(
            "POST", "/api/posts/", body, content_type="application/json"
        )

        assert response.status_code == 400
        assert not Post.objects.exists()


class TestStringFieldsTakeStrings:
    """A JSON number is not a string: every text field of every write refuses one, with
    the field's message, rather than store its digits."""

    BODIES = {
        "create a post": ("POST", "/api/posts/", {"title": "T", "body": "B"}),
        "replace a post": ("PUT", "/api/posts/{post}/", {"title": "T", "body": "B"}),
        "change a post": ("PATCH", "/api/posts/{post}/", {"title": "T", "body": "B"}),
        "comment on a post": ("POST", "/api/posts/{post}/comments/", {"body": "B"}),
        "change a comment": ("PATCH", "/api/comments/{comment}/", {"body": "B"}),
        "sign in": ("POST", TOKEN_URL, {"username": "bob", "password": "bob-password"}),
    }
    CASES = [(write, name) for write, (_, _, body) in BODIES.items() for name in body]

    @pytest.mark.parametrize("number", [0, 7, -1.5], ids=["zero", "integer", "fraction"])
    @pytest.mark.parametrize("write, name", CASES, ids=[f"{w}: {n}" for w, n in CASES])
    def test_a_number_is_a_400_naming_the_field_and_nothing_is_written(
        self, author_client, post, comment, other_user, write, name, number
    ):
        method, path, valid = self.BODIES[write]
        before = stored()

        response = author_client.generic(
            method,
            path.format(post=post.id, comment=comment.id),
            json.dumps({**valid, name: number}),
            content_type="application/json",
        )

        assert response.status_code == 400
        assert response.json() == {name: ["Not a valid string."]}
        assert stored() == before

    def test_a_string_of_digits_is_a_string(self, author_client):
        response = author_client.post("/api/posts/", {"title": "0", "body": "0"}, format="json")

        assert response.status_code == 201
        assert Post.objects.values_list("title", "body").get() == ("0", "0")

    def test_the_schemas_example(self, author_client):
        """A schema fuzzer's find: this was a 201 that stored "0"."""
        response = author_client.post("/api/posts/", {"title": "0", "body": 0}, format="json")

        assert response.status_code == 400
        assert response.json() == {"body": ["Not a valid string."]}
        assert not Post.objects.exists()


class TestNulBytes:
    """PostgreSQL cannot store or compare text with a NUL byte in it: each of these would
    be a 500 there if it reached the database."""

    @pytest.mark.parametrize(
        "method, path, data, field",
        [
            ("post", "/api/posts/", {"title": "a\x00b", "body": "B"}, "title"),
            ("post", "/api/posts/", {"title": "T", "body": "\x00"}, "body"),
            ("patch", "/api/posts/{post}/", {"title": "a\x00b"}, "title"),
            ("post", "/api/posts/{post}/comments/", {"body": "a\x00b"}, "body"),
            ("patch", "/api/comments/{comment}/", {"body": "a\x00b"}, "body"),
            (
                "post",
                TOKEN_URL,
                {"username": "alice\x00", "password": "alice-password"},
                "username",
            ),
        ],
        ids=["post title", "post body", "changed title", "comment", "changed comment", "username"],
    )
    def test_a_nul_byte_in_a_field_is_a_400_naming_it(
        self, author_client, post, comment, method, path, data, field
    ):
        before = stored()

        response = getattr(author_client, method)(
            path.format(post=post.id, comment=comment.id), data, format="json"
        )

        assert response.status_code == 400
        assert response.json()[field] == ["Null characters are not allowed."]
        assert stored() == before

    def test_a_nul_byte_in_a_form_field_is_a_400(self, author_client):
        response = author_client.post("/api/posts/", {"title": "a\x00b", "body": "B"})

        assert response.status_code == 400
        assert "title" in response.json()
        assert not Post.objects.exists()

    def test_a_lone_surrogate_is_a_400(self, author_client):
        """JSON can spell half a UTF-16 pair (\\ud800), which no database can encode."""
        response = author_client.generic(
            "POST", "/api/posts/", '{"title": "a\\ud800b", "body": "B"}', "application/json"
        )

        assert response.status_code == 400
        assert "title" in response.json()
        assert not Post.objects.exists()

    def test_a_token_with_a_nul_byte_is_a_401(self, api_client, post):
        api_client.credentials(HTTP_AUTHORIZATION="Token abc\x00def")

        response = api_client.get(post_url(post.id))

        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token."}

    def test_a_session_cookie_with_a_nul_byte_is_no_session(self, api_client, post):
        """Django decodes the quoted cookie value "...\\000" to a NUL: it gets past any server."""
        api_client.cookies[settings.SESSION_COOKIE_NAME] = "abcdefghij\x00"

        read = api_client.get(post_url(post.id))
        write = api_client.delete(post_url(post.id))

        assert read.status_code == 200
        assert write.status_code == 401
        assert Post.objects.filter(id=post.id).exists()


class TestOddUnicode:
    TEXTS = {
        "emoji": "Launch day 🚀🎉",
        "joined emoji": "Family: 👩‍👩‍👧‍👦, flag: 🏳️‍🌈",
        "right to left": "שלום עולם and مرحبا بالعالم",
        "bidi override": "file\u202egnp.exe",
        "combining marks": "Ame\u0301lie, Z\u0324\u0354\u0367\u0311\u0313",
        "four-byte characters": "𝕳𝖊𝖑𝖑𝖔 𠜎𠜱 𓀀",
        "invisible characters": "zero\u200bwidth\ufeffBOM\u00adsoft",
    }

    @pytest.mark.parametrize("text", list(TEXTS.values()), ids=list(TEXTS))
    def test_a_post_comes_back_exactly_as_sent(self, author_client, api_client, text):
        created = author_client.post("/api/posts/", {"title": text, "body": text}, format="json")

        read = api_client.get(post_url(created.json()["id"]))

        assert created.status_code == 201
        assert (read.json()["title"], read.json()["body"]) == (text, text)
        assert Post.objects.values_list("title", "body").get() == (text, text)

    @pytest.mark.parametrize("text", list(TEXTS.values()), ids=list(TEXTS))
    def test_a_comment_comes_back_exactly_as_sent(self, author_client, api_client, post, text):
        created = author_client.post(post_comments_url(post.id), {"body": text}, format="json")

        read = api_client.get(comment_url(created.json()["id"]))

        assert created.status_code == 201
        assert read.json()["body"] == text

    def test_text_is_not_normalised(self, author_client):
        """An é written as e + combining accent stays two code points."""
        response = author_client.post(
            "/api/posts/", {"title": "e\u0301", "body": "B"}, format="json"
        )

        assert response.json()["title"] == "e\u0301" != "\u00e9"

    def test_length_is_counted_in_characters_not_bytes(self, author_client):
        """200 four-byte characters are 800 bytes: still a title of the longest length."""
        longest = "𠜎" * TITLE_MAX_LENGTH

        accepted = author_client.post("/api/posts/", {"title": longest, "body": "B"}, format="json")
        refused = author_client.post(
            "/api/posts/", {"title": longest + "𠜎", "body": "B"}, format="json"
        )

        assert accepted.status_code == 201
        assert Post.objects.get().title == longest
        assert refused.status_code == 400


# Ids no BIGINT holds: its range is -2**63 .. 2**63 - 1.
HUGE_IDS = [2**63, 2**64, 10**30, -(2**63) - 1]
HUGE_IDS_NAMES = ["2**63", "2**64", "10**30", "below bigint min"]


class TestIdsBeyondTheDatabase:
    @pytest.mark.parametrize("huge", HUGE_IDS, ids=HUGE_IDS_NAMES)
    @pytest.mark.parametrize(
        "method, path",
        [
            ("put", "/api/posts/{id}/"),
            ("patch", "/api/posts/{id}/"),
            ("delete", "/api/posts/{id}/"),
            ("get", "/api/comments/{id}/"),
            ("patch", "/api/comments/{id}/"),
            ("delete", "/api/comments/{id}/"),
            ("post", "/api/posts/{id}/comments/"),
        ],
    )
    def test_is_a_404_and_changes_nothing(self, author_client, comment, method, path, huge):
        before = stored()

        response = getattr(author_client, method)(
            path.format(id=huge), {"title": "T", "body": "B"}, format="json"
        )

        assert response.status_code == 404
        assert response.json()["detail"]
        assert stored() == before

    @pytest.mark.parametrize("huge", HUGE_IDS, ids=HUGE_IDS_NAMES)
    def test_the_comments_of_such_a_post_are_a_404(self, api_client, huge):
        response = api_client.get(post_comments_url(huge))

        assert response.status_code == 404


@pytest.fixture
def numbered(user):
    """Alice's posts 1 and 10 and her comments 1 and 10: what "١" and "1_0" would reach."""
    for number in (1, 10):
        numbered_post = baker.make(Post, id=number, user=user, title="Numbered", body="B")
        baker.make(Comment, id=number, post=numbered_post, user=user, body="Numbered")


# Ids that Python's int() reads as 1 or 10, though they are not the digits of either.
ALIASES = ["1_0", "%D9%A1", "%201", "+1"]
ALIASES_NAMES = ["underscore", "arabic-indic one", "leading space", "plus sign"]


class TestIdsThatAreNotPlainDigits:
    @pytest.mark.parametrize("alias", ALIASES, ids=ALIASES_NAMES)
    @pytest.mark.parametrize("method", ["get", "patch", "delete"])
    @pytest.mark.parametrize("url", [post_url, comment_url], ids=["post", "comment"])
    def test_what_python_reads_as_a_number_is_a_404(
        self, author_client, numbered, url, method, alias
    ):
        """Otherwise a post or comment would have more than one URL, and be changed by any."""
        before = stored()

        response = getattr(author_client, method)(url(alias), {"body": "Changed"}, format="json")

        assert response.status_code == 404
        assert stored() == before

    @pytest.mark.parametrize("alias", ALIASES, ids=ALIASES_NAMES)
    @pytest.mark.parametrize("method", ["get", "post"])
    def test_so_is_the_comments_url_of_such_an_id(self, author_client, numbered, method, alias):
        before = stored()

        response = getattr(author_client, method)(
            post_comments_url(alias), {"body": "Hi"}, format="json"
        )

        assert response.status_code == 404
        assert stored() == before

    @pytest.mark.parametrize(
        "post_id",
        ["1e1", "0x1", "-1", "%F0%9F%9A%80", "%00"],
        ids=["exponent", "hex", "negative", "emoji", "NUL"],
    )
    def test_other_strings_are_a_404(self, api_client, numbered, post_id):
        response = api_client.get(post_url(post_id))

        assert response.status_code == 404


class TestPageParameters:
    @pytest.fixture(autouse=True)
    def paginated(self, at_stage):
        at_stage("paginated")

    @pytest.mark.parametrize("page", ["2", "abc", "%00", str(10**30)])
    @pytest.mark.parametrize("list_url", ["/api/comments/", "/api/posts/{post}/comments/"])
    def test_a_page_that_does_not_exist_is_a_404_with_a_message(
        self, api_client, post, make_comments, list_url, page
    ):
        make_comments(3, post=post)

        response = api_client.get(f"{list_url.format(post=post.id)}?page={page}")

        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid page."}


class TestPageSize:
    """`?page_size=` at both stages that take it: a whole number from 1 up, or a 400."""

    LISTS = ["/api/posts/", "/api/comments/", "/api/posts/{post}/comments/"]

    @pytest.fixture(autouse=True, params=["paginated", "cursor"])
    def paginated(self, request, at_stage):
        at_stage(request.param)

    @pytest.mark.parametrize(
        "page_size, message",
        [
            ("0", "Ensure this value is greater than or equal to 1."),
            ("-5", "Ensure this value is greater than or equal to 1."),
            ("1.5", "A valid integer is required."),
            ("abc", "A valid integer is required."),
            ("", "A valid integer is required."),
            ("%00", "A valid integer is required."),
            ("9" * 1001, "String value too large."),
        ],
        ids=["zero", "negative", "fraction", "word", "empty", "NUL", "a thousand digits"],
    )
    @pytest.mark.parametrize("list_url", LISTS)
    def test_one_that_is_not_a_whole_number_from_1_up_is_a_400_naming_it(
        self, api_client, comment, list_url, page_size, message
    ):
        response = api_client.get(f"{list_url.format(post=comment.post_id)}?page_size={page_size}")

        assert response.status_code == 400
        assert response.json() == {"page_size": [message]}

    @pytest.mark.parametrize("page_size", ["101", "1000", str(10**30)])
    @pytest.mark.parametrize("list_url", LISTS)
    def test_one_above_the_cap_is_the_cap(
        self, api_client, post, make_posts, make_comments, list_url, page_size
    ):
        make_posts(100)
        make_comments(101, post=post)

        response = api_client.get(list_url.format(post=post.id), {"page_size": page_size})

        assert response.status_code == 200
        assert len(results(response)) == 100

    def test_the_schema_says_so(self, api_client):
        schema = api_client.get("/api/schema/?format=json").json()

        for path in ("/api/posts/", "/api/comments/", "/api/posts/{post_pk}/comments/"):
            operation = schema["paths"][path]["get"]
            (parameter,) = [p for p in operation["parameters"] if p["name"] == "page_size"]
            assert parameter["schema"] == {"type": "integer", "minimum": 1}
            assert "a larger number gives 100" in parameter["description"]
            assert "400" in operation["responses"]


class TestUnknownQueryParameters:
    STRAYS = {
        "ordering": "title",
        "search": "nothing matches this",
        "user": "424242",
        "limit": "1",
        "offset": "2",
        "fields": "id",
        "foo": "\x00",
    }

    @pytest.mark.parametrize("list_url", ["/api/posts/", "/api/comments/"])
    def test_a_list_ignores_them(self, api_client, make_comments, stage, list_url):
        make_comments(3)
        plain = api_client.get(list_url)

        response = api_client.get(list_url, self.STRAYS)

        assert response.status_code == 200
        assert results(response) == results(plain)

    def test_a_detail_ignores_them(self, api_client, post):
        plain = api_client.get(post_url(post.id))

        response = api_client.get(post_url(post.id), self.STRAYS)

        assert response.json() == plain.json()

    def test_a_write_ignores_them(self, author_client, user, other_user):
        response = author_client.post(
            f"/api/posts/?user={other_user.id}", {"title": "T", "body": "B"}, format="json"
        )

        assert response.status_code == 201
        assert Post.objects.get().user == user


class TestBadTokens:
    @pytest.mark.parametrize(
        "header, detail",
        [
            ("Token " + "0" * 40, "Invalid token."),
            ("Token", "Invalid token header. No credentials provided."),
            ("Token two words", "Invalid token header. Token string should not contain spaces."),
            ("token " + "0" * 40, "Invalid token."),
        ],
        ids=["unknown", "no key", "spaces", "lower-case keyword"],
    )
    def test_is_a_401_for_a_write_and_nothing_is_written(self, api_client, db, header, detail):
        api_client.credentials(HTTP_AUTHORIZATION=header)

        response = api_client.post("/api/posts/", {"title": "T", "body": "B"}, format="json")

        assert response.status_code == 401
        assert response.json() == {"detail": detail}
        assert not Post.objects.exists()

    def test_a_token_under_another_keyword_is_no_token(self, api_client, author_client, post):
        """`Bearer <key>` is not this API's scheme: the request is anonymous."""
        key = Token.objects.get().key
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

        read = api_client.get(post_url(post.id))
        write = api_client.delete(post_url(post.id))

        assert read.status_code == 200
        assert write.status_code == 401
        assert Post.objects.filter(id=post.id).exists()


class TestRevokeToken:
    def test_delete_revokes_the_token_it_is_sent_with(self, author_client, user):
        response = author_client.delete(TOKEN_URL)

        assert response.status_code == 204
        assert not Token.objects.filter(user=user).exists()

    @pytest.mark.parametrize("method", ["get", "delete"])
    def test_a_revoked_token_is_a_401_from_then_on(self, author_client, post, method):
        author_client.delete(TOKEN_URL)

        response = getattr(author_client, method)(post_url(post.id))

        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token."}
        assert Post.objects.filter(id=post.id).exists()

    def test_signing_in_again_gives_a_new_token_that_works(self, author_client, user):
        old = Token.objects.get(user=user).key
        author_client.delete(TOKEN_URL)
        client = APIClient()

        new = client.post(
            TOKEN_URL, {"username": "alice", "password": "alice-password"}, format="json"
        ).json()["token"]
        client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
        response = client.post("/api/posts/", {"title": "T", "body": "B"}, format="json")

        assert new != old
        assert response.status_code == 201

    def test_other_users_tokens_are_untouched(self, author_client, other_client, post):
        author_client.delete(TOKEN_URL)

        response = other_client.post(post_comments_url(post.id), {"body": "Hi"}, format="json")

        assert response.status_code == 201

    def test_anonymous_is_a_401(self, api_client, author_client, user):
        response = api_client.delete(TOKEN_URL)

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert Token.objects.filter(user=user).exists()

    def test_an_unknown_token_is_a_401(self, api_client, author_client, user):
        api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

        response = api_client.delete(TOKEN_URL)

        assert response.status_code == 401
        assert Token.objects.filter(user=user).exists()

    def test_a_browser_session_without_its_csrf_token_is_a_403(self, author_client, user):
        """The browsable API's session can revoke too, but not from another site's form."""
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(user)

        response = client.delete(TOKEN_URL)

        assert response.status_code == 403
        assert Token.objects.filter(user=user).exists()
