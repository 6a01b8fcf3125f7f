"""API tokens: issue and revoke (django-rest-knox stores only their hash)."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import knox_settings


def token_create(
    *, user: AbstractBaseUser, request: HttpRequest | None = None
) -> tuple[AuthToken, str]:
    """A new token for ``user``: the record, and the key shown to the caller only now.

    The user's expired tokens are deleted here (requests check only their own token).
    """
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    instance, key = AuthToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return instance, key


def token_revoke(*, user: AbstractBaseUser | AnonymousUser, token_key: str) -> int:
    """Revoke the caller's token(s) whose public prefix is ``token_key``; how many."""
    deleted, _ = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    return deleted
