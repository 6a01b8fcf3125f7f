"""Who did something: the user types services accept and the account they record."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.models import User as AuthUser

# What a view, API or command has at hand: request.user, or nobody (CLI, tasks).
User = AbstractBaseUser | AnonymousUser | None


def user_or_none(user: User) -> AuthUser | None:
    """The account to record as creator/uploader; None for anonymous or no user."""
    return user if isinstance(user, AuthUser) else None
