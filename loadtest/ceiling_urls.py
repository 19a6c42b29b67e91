"""The project's URLs plus a trivial endpoint, for `manage.py measure_ceiling` only
(ceiling_settings.py); `project.urls` never serves it."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

# Django looks for the error handlers in the root URLconf, so this one passes them on.
from project.urls import handler400, handler404, handler500  # noqa: F401
from project.urls import urlpatterns as served

TRIVIAL = "/api/trivial/"


class TrivialView(APIView):
    """`{"ok": true}` with no query: the least a request through DRF (authentication,
    permissions, content negotiation, rendering) and the project's middleware can cost,
    so its throughput is the ceiling any endpoint on the same server is measured against."""

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path(TRIVIAL.lstrip("/"), TrivialView.as_view(), name="trivial"), *served]
