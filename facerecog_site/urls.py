"""URL routes.

Media files are deliberately not routed: photos are served only through
authenticated views (people.urls).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever the page says; point them at the icon."""
    return HttpResponsePermanentRedirect(static("web/favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("api/", include("facerecog_site.api_urls")),
    path("accounts/", include("accounts.urls")),
    path("photos/", include("people.urls")),
    path("", include("recognition.prototype_urls")),
    path("", include("web.urls")),
]

# JSON under /api/, Django's pages elsewhere.
handler400 = "facerecog_site.error_views.bad_request"
handler403 = "facerecog_site.error_views.permission_denied"
handler404 = "facerecog_site.error_views.not_found"
handler500 = "facerecog_site.error_views.server_error"
