"""API permissions: Django model permissions, named per view action.

Each API view lists the permissions every action needs (``action_permissions``), so
an administrator grants API rights in the admin exactly as for the admin itself.
An action missing from the map is refused: a new endpoint is closed until someone
decides who may use it.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


def required_permissions(view: Any, request: Request) -> list[str] | None:
    mapping: dict[str, list[str]] = getattr(view, "action_permissions", {})
    method = (request.method or "").lower()
    action = getattr(view, "action", None) or method
    if action == "metadata" or request.method == "OPTIONS":
        # OPTIONS describes the endpoint; it needs what reading it needs.
        action = "list" if "list" in mapping else next(iter(mapping), "")
    return mapping.get(action)


class ActionPermissions(BasePermission):
    """Allows a request when the user holds every permission its action needs."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not hasattr(view, (request.method or "").lower()):
            return True  # no handler: the view answers 405 Method Not Allowed
        perms = required_permissions(view, request)
        if perms is None:
            return False
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(perms))
