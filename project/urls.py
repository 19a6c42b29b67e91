"""URLs: the same in every stage; the views behind them come from the served stage."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from stages import stage_views

from .views import HealthView

views = stage_views(settings.STAGE)

router = DefaultRouter()
router.register("posts", views.PostViewSet, basename="post")
router.register("comments", views.CommentViewSet, basename="comment")

urlpatterns = [
    path("api/", include(router.urls)),
    path(
        "api/posts/<str:post_pk>/comments/",
        views.PostCommentList.as_view(),
        name="post-comments",
    ),
    path("api/auth/token/", obtain_auth_token, name="auth-token"),
    path("api/health/", HealthView.as_view(), name="health"),
    # Log in and out of the browsable API.
    path("api/auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "project.views.not_found"
handler500 = "rest_framework.exceptions.server_error"
handler400 = "rest_framework.exceptions.bad_request"
