"""The REST API under /api/ (namespace "api")."""

from __future__ import annotations

from django.urls import URLPattern, path

from accounts.apis import LogoutApi, TokenCreateApi, TokenListApi, TokenRevokeApi

app_name = "api"

urlpatterns: list[URLPattern] = [
    path("auth/token/", TokenCreateApi.as_view(), name="token"),
    path("auth/logout/", LogoutApi.as_view(), name="logout"),
    path("auth/tokens/", TokenListApi.as_view(), name="token-list"),
    path("auth/tokens/<str:token_key>/", TokenRevokeApi.as_view(), name="token-revoke"),
]
