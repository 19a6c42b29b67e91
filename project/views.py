"""Views that belong to the service rather than to the blog: readiness, JSON errors, and
the OpenAPI schema's account of those errors."""

import inspect

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min
from django.http import JsonResponse
from django.views import defaults
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from blog.models import Comment, Post
from seed.accounts import seeded_users
from stages import STAGES


class ErrorSerializer(serializers.Serializer):
    """DRF's shape for an error that is not about a field: `{"detail": "..."}`."""

    detail = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """A 400: each field that failed, with its messages (`non_field_errors` for the rest);
    `detail` for a body that does not parse; `error` for one that Django refuses before
    DRF reads it (larger than DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB)."""


class ValidationErrorSchema(OpenApiSerializerExtension):
    """A serializer cannot say "any key, each a list of messages"; this schema does."""

    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema, direction):
        return {
            "type": "object",
            "description": inspect.cleandoc(self.target.__doc__),
            "properties": {"detail": {"type": "string"}, "error": {"type": "string"}},
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }


class ApiSchema(AutoSchema):
    """drf-spectacular's schema of an operation, plus the errors it can answer.

    The errors follow from what the view is (how it authenticates, whether it writes, takes
    an id, paginates) rather than from a list kept by hand, so they stay right at every
    stage: only a paginated list can answer 404 for a page.
    """

    def get_response_serializers(self):
        found = super().get_response_serializers()
        if isinstance(found, dict):  # status codes given by @extend_schema: they win
            return found
        if self.method == "DELETE":
            responses = {204: None}
        else:
            responses = {201 if self._is_create_operation() else 200: found}
        writes = self.method not in permissions.SAFE_METHODS
        authenticators = self.view.get_authenticators()
        has_id = "{" in self.path
        if self.method in ("POST", "PUT", "PATCH"):
            responses[400] = OpenApiResponse(
                ValidationErrorSerializer,
                "The body is not valid: a field missing, blank, too long, or not of its type "
                "(a number where a string is due).",
            )
        if authenticators:
            responses[401] = error(
                "No token, or an unknown or revoked one."
                if writes and not self._allows_anonymous()
                else "An unknown or revoked token."
            )
        if writes and any(isinstance(a, SessionAuthentication) for a in authenticators):
            responses[403] = error(
                "Not the author, or a browser session without its CSRF token."
                if has_id and self.method != "POST"
                else "A browser session without its CSRF token."
            )
        paginated = self._is_list_view(found) and getattr(self.view, "pagination_class", None)
        if paginated and self.view.pagination_class.page_size_query_param:
            responses[400] = OpenApiResponse(
                ValidationErrorSerializer, "page_size is not a whole number from 1 up."
            )
        if has_id:
            responses[404] = error("Nothing has that id.")
        elif paginated:
            responses[404] = error("Invalid page (or cursor): past the end, or not one.")
        return responses

    def _allows_anonymous(self):
        return {} in self.get_auth()


def error(description):
    return OpenApiResponse(ErrorSerializer, description)


class HealthSerializer(serializers.Serializer):
    """What /api/health/ answers."""

    status = serializers.ChoiceField(choices=["ok"])
    stage = serializers.ChoiceField(choices=STAGES)
    posts = serializers.IntegerField()
    comments = serializers.IntegerField()
    users = serializers.IntegerField()
    seeded_users = serializers.IntegerField(help_text="The accounts user1 … userN.")
    post_ids = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=2,
        max_length=2,
        allow_null=True,
        help_text="The lowest and highest post id; null when there are no posts.",
    )


class HealthView(APIView):
    """Readiness for load tools: which stage is served and how much data it holds."""

    # No authentication: a stale token in a load tool must not fail its readiness check.
    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=HealthSerializer)
    def get(self, request):
        posts = Post.objects.aggregate(count=Count("id"), min=Min("id"), max=Max("id"))
        return Response(
            {
                "status": "ok",
                "stage": settings.STAGE,
                "posts": posts["count"],
                "comments": Comment.objects.count(),
                "users": get_user_model().objects.count(),
                # The accounts a load test can log in as: user1 ... userN.
                "seeded_users": seeded_users().count(),
                # The ids a load test can ask for (null when there are no posts).
                "post_ids": [posts["min"], posts["max"]] if posts["count"] else None,
            }
        )


def not_found(request, exception):
    """A JSON 404 for API clients (an unknown URL under /api/); Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
