"""Where Django or DRF answers a malformed request with a 500, made a 4xx.

Each is a subclass of the stock class, named in settings. Settings load these before
any view exists, so this module imports no views (DRF's circular-import rule for
authentication and parser classes).
"""

from django.contrib.sessions.backends import db
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, parsers

# PostgreSQL cannot compare text that contains a NUL byte: a lookup by such a key fails
# with an error (a 500) instead of finding nothing. No real token or session key has one.
NUL = "\x00"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that JSON nested deeper than Python's parser goes (about
    a thousand levels: a 2 kB body of `[[[[…`) is a 400 like any unparsable body. Python
    raises RecursionError there, which DRF does not catch."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, except that a key with a NUL byte is an invalid token
    (401). Gunicorn refuses such a header before Django sees it; another server may not."""

    def authenticate_credentials(self, key):
        if NUL in key:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return super().authenticate_credentials(key)


class SessionStore(db.SessionStore):
    """Django's database sessions (SESSION_ENGINE names this module), except that a
    session cookie with a NUL byte is no session. Such a cookie gets past gunicorn:
    Django decodes the quoted value `"…\\000"` to a NUL."""

    def _validate_session_key(self, key):
        return super()._validate_session_key(key) and NUL not in key
