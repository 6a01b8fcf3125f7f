"""API token authentication: django-rest-knox's, with one cheap query per request.

knox's check deletes every expired token of the caller's user on each request (one
extra query for every API call). Here a request checks only its own token (an expired
one is deleted and refused, as in knox); the user's other expired tokens are removed
when a token is issued (accounts.services.token_create), where they are listed anyway.
The token, its user and the user's permissions are read by one hand-written query
(facerecog_site.handwritten_sql): the ORM's two cost ~0.9 ms of CPU to compile on every
API request.
"""

from __future__ import annotations

import binascii
import functools
from hmac import compare_digest

from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from accounts.backends import permissions_held_list, permissions_remember
from facerecog_site.handwritten_sql import column, columns, cursor, instance, table


class TokenAuthentication(auth.TokenAuthentication):
    def authenticate_credentials(self, token: bytes) -> tuple[User, AuthToken]:
        """knox's check (the same rules, messages and signals) over one SQL read."""
        message = _("Invalid token.")
        key = token.decode("utf-8")
        with cursor() as db:
            db.execute(_token_sql(), [key[: CONSTANTS.TOKEN_KEY_LENGTH]])
            rows = db.fetchall()
        width = len(AuthToken._meta.concrete_fields)
        for row in rows:
            auth_token = instance(AuthToken, row[:width])
            auth_token.user = user = instance(User, row[width:-1])
            if not user.is_superuser:
                permissions_remember(user, row[-1])
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(key)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(message) from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(message)

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        """True (refuse) when this token has expired; it is deleted then."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme: knox's, for this subclass."""

    target_class = "accounts.authentication.TokenAuthentication"


@functools.cache
def _token_sql() -> str:
    """The tokens with a key (``%s``) and their users: every column of both, and the
    user's permissions (accounts.backends.permissions_held_list)."""
    user_id = f"{table(User)}.{column(User, 'id')}"
    return (
        f"SELECT {columns(AuthToken)}, {columns(User)}, {permissions_held_list(user_id)} "
        f"FROM {table(AuthToken)} "
        f"INNER JOIN {table(User)} ON {user_id} = {table(AuthToken)}.{column(AuthToken, 'user')} "
        f"WHERE {table(AuthToken)}.{column(AuthToken, 'token_key')} = %s"
    )
