"""Views that belong to the service rather than to the blog: readiness and JSON errors."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min
from django.http import JsonResponse
from django.views import defaults
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from blog.models import Comment, Post
from seed.builders import seeded_users


class HealthView(APIView):
    """Readiness for load tools: which stage is served and how much data it holds."""

    # No authentication: a stale token in a load tool must not fail its readiness check.
    authentication_classes = []
    permission_classes = [permissions.AllowAny]

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
