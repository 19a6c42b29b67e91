from rest_framework import permissions


class IsAuthorOrReadOnly(permissions.BasePermission):
    """Anyone may read an object; only its author may change or delete it."""

    def has_object_permission(self, request, view, obj):
        # Reads (GET, HEAD, OPTIONS) are open to everyone.
        if request.method in permissions.SAFE_METHODS:
            return True
        # Writes only by the user who wrote the post or comment.
        return obj.user_id == request.user.id
