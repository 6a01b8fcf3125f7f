"""The REST API under /api/ (namespace "api")."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import APIRootView, DefaultRouter

from accounts.apis import LogoutApi, TokenCreateApi, TokenListApi, TokenRevokeApi
from facerecog_site.error_views import not_found
from recognition.apis import IdentificationViewSet, IdentifyApi, TrainedModelViewSet
from recognition.gallery_apis import FaceViewSet, PersonViewSet
from recognition.review_apis import UnknownFaceViewSet

app_name = "api"


class ApiRootView(APIRootView):
    """The browsable index of the API: any logged-in user may see the links."""

    action_permissions: dict[str, list[str]] = {"get": []}


class ApiDocsView(SpectacularSwaggerView):
    """The interactive docs are a page for people: a logged-out browser gets the login
    page (then comes back), not a bare "401 Unauthorized"."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated and "HTTP_AUTHORIZATION" not in request.META:
            return redirect_to_login(request.get_full_path())
        return super().dispatch(request, *args, **kwargs)


router = DefaultRouter()
router.APIRootView = ApiRootView
router.register("people", PersonViewSet, basename="person")
router.register(r"people/(?P<person_pk>[0-9]+)/faces", FaceViewSet, basename="person-face")
router.register("models", TrainedModelViewSet, basename="model")
router.register("identifications", IdentificationViewSet, basename="identification")
router.register("unknown-faces", UnknownFaceViewSet, basename="unknown-face")

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenCreateApi.as_view(), name="token"),
    path("auth/logout/", LogoutApi.as_view(), name="logout"),
    path("auth/tokens/", TokenListApi.as_view(), name="token-list"),
    path("auth/tokens/<str:token_key>/", TokenRevokeApi.as_view(), name="token-revoke"),
    path("identify/", IdentifyApi.as_view(), name="identify"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
    # Last: any other /api/ URL is a JSON 404 (also with DEBUG on, which would
    # otherwise show Django's HTML page instead of calling handler404).
    re_path(r"^(.*/)?$", not_found, name="not-found"),
]
