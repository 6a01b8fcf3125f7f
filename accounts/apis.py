"""Token endpoints: exchange a password for a token, list and revoke tokens."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import status
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import TokenAuthentication
from accounts.backends import client_address, lockout_remaining
from accounts.selectors import token_list
from accounts.serializers import TokenCreatedSerializer, TokenRequestSerializer, TokenSerializer
from accounts.services import token_create, token_revoke
from accounts.throttling import ScopedRateLimit
from facerecog_site.api_errors import ApiError, ErrorSerializer

ERROR = OpenApiResponse(ErrorSerializer)


class TokenCreateApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateLimit]
    throttle_scope = "login"

    @extend_schema(
        tags=["auth"],
        summary="Exchange a username and password for an API token",
        request=TokenRequestSerializer,
        responses={200: TokenCreatedSerializer, 400: ERROR, 429: ERROR},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        user = authenticate(
            request, username=username, password=serializer.validated_data["password"]
        )
        if user is None:
            remaining = lockout_remaining(username=username, address=client_address(request))
            if remaining:
                raise Throttled(
                    wait=remaining,
                    detail="Too many failed logins for this account or address.",
                    code="login_locked",
                )
            raise ApiError(
                "Unable to log in with the username and password provided.",
                code="invalid_credentials",
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        instance, key = token_create(user=user, request=request)
        data = {"token": key, "token_key": instance.token_key, "expiry": instance.expiry}
        return Response(TokenCreatedSerializer(data).data)


class LogoutApi(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Revoke the token this request was made with",
        request=None,
        responses={204: None, 401: ERROR},
    )
    def post(self, request: Request) -> Response:
        assert isinstance(request.auth, AuthToken)  # TokenAuthentication only
        token_revoke(user=request.user, token_key=request.auth.token_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"], summary="Your unexpired tokens", responses={200: TokenSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        tokens = token_list(user=request.user)
        return Response(TokenSerializer(tokens, many=True, context={"request": request}).data)


class TokenRevokeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["auth"],
        summary="Revoke one of your tokens by its token_key",
        responses={204: None, 404: ERROR},
    )
    def delete(self, request: Request, token_key: str) -> Response:
        if not token_revoke(user=request.user, token_key=token_key):
            raise NotFound("You have no token with this token_key.")
        return Response(status=status.HTTP_204_NO_CONTENT)
