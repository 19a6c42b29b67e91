"""/api/auth/token/: sign in for a token (POST), and revoke it (DELETE)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.views import APIView

from .serializers import StrictCharField


class IsAuthenticatedToRevoke(permissions.BasePermission):
    """POST is open to everyone; DELETE needs the credentials it revokes."""

    def has_permission(self, request, view):
        # Asking for a token is how a client signs in: it has no credentials yet.
        if request.method != "DELETE":
            return True
        # Revoking needs a signed-in user, whose token it then deletes.
        return bool(request.user and request.user.is_authenticated)


class SignInSerializer(AuthTokenSerializer):
    """DRF's sign-in serializer with StrictCharFields: `{"username": 1}` is a 400 that
    names the field, not a sign-in as the user called "1"."""

    username = StrictCharField(label="Username", write_only=True)
    password = StrictCharField(
        label="Password", style={"input_type": "password"}, trim_whitespace=False, write_only=True
    )


@extend_schema_view(
    # Signing in needs no credentials (drf-spectacular only sees that for AllowAny).
    post=extend_schema(auth=[{}], summary="Sign in: a username and password for a token"),
    delete=extend_schema(summary="Sign out: revoke the token this request is sent with"),
)
class TokenView(ObtainAuthToken):
    """DRF's `obtain_auth_token` (POST `{username, password}` → `{"token"}`), plus DELETE,
    which deletes the caller's token: every client that holds it gets a 401 from then on,
    and the next POST creates a new one."""

    permission_classes = [IsAuthenticatedToRevoke]
    serializer_class = SignInSerializer
    # The project's parsers: JSON, form and multipart as in DRF's view, with JSON nested
    # too deep to parse a 400 (see project/hardening.py).
    parser_classes = APIView.parser_classes

    def delete(self, request, *args, **kwargs):
        # DRF keeps one token per user, so the user's token is the one this request sent
        # (or, for a browser session, the one its API clients use).
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
