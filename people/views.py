"""Photo bytes for logged-in users allowed to see them (there is no public media URL)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, resolve_url
from django.views.decorators.http import require_safe

from people.models import FaceImage
from people.selectors import PhotoBytes, face_image_photo, face_image_thumbnail

VIEW_PERMISSION = "people.view_faceimage"

PhotoView = Callable[[HttpRequest, int], HttpResponse]


def photo_response(photo: PhotoBytes) -> HttpResponse:
    """An HTTP response for private photo bytes: never cached, never content-sniffed."""
    response = HttpResponse(photo.content, content_type=photo.content_type)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response


def photo_access(view: PhotoView) -> PhotoView:
    """Anonymous -> login page; logged in without people.view_faceimage -> 403."""

    @wraps(view)
    def guarded(request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
        if not request.user.has_perm(VIEW_PERMISSION):
            raise PermissionDenied
        return view(request, pk)

    return guarded


@require_safe
@photo_access
def face_image(request: HttpRequest, pk: int) -> HttpResponse:
    face = get_object_or_404(FaceImage, pk=pk)
    try:
        return photo_response(face_image_photo(face_image=face))
    except FileNotFoundError:
        raise Http404("The photo file is missing.") from None


@require_safe
@photo_access
def face_thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    face = get_object_or_404(FaceImage, pk=pk)
    try:
        return photo_response(face_image_thumbnail(face_image=face))
    except FileNotFoundError:
        raise Http404("The photo file is missing.") from None
