"""API token authentication: django-rest-knox's, without a query per request for others.

knox's check deletes every expired token of the caller's user on each request (one
extra query for every API call). Here a request checks only its own token (an expired
one is deleted and refused, as in knox); the user's other expired tokens are removed
when a token is issued (accounts.services.token_create), where they are listed anyway.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from knox.models import AuthToken
from knox.signals import token_expired


class TokenAuthentication(auth.TokenAuthentication):
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
