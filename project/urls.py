"""URLs: the same in every stage; the views behind them come from the served stage."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from blog.auth import TokenView
from stages import stage_views

from .views import HealthView

views = stage_views(settings.STAGE)

# Django's path converters rather than regular expressions: the viewsets' ids are <int:>.
router = DefaultRouter(use_regex_path=False)
router.register("posts", views.PostViewSet, basename="post")
router.register("comments", views.CommentViewSet, basename="comment")

urlpatterns = [
    path("api/", include(router.urls)),
    path(
        "api/posts/<int:post_pk>/comments/",
        views.PostCommentList.as_view(),
        name="post-comments",
    ),
    path("api/auth/token/", TokenView.as_view(), name="auth-token"),
    path("api/health/", HealthView.as_view(), name="health"),
    # The OpenAPI 3 schema of the stage being served, and Swagger UI to read and try it.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Log in and out of the browsable API.
    path("api/auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
]

# Silk's pages, only when it is on (DJANGO_SILK=1).
if settings.SILK_ENABLED:
    urlpatterns.append(path("silk/", include("silk.urls", namespace="silk")))

handler404 = "project.views.not_found"
handler500 = "rest_framework.exceptions.server_error"
handler400 = "rest_framework.exceptions.bad_request"
