"""Upload size enforcement while the request body streams in.

Django has no cap on the size of an uploaded file: by default it spools any size to a
temporary file. This handler stops the upload as soon as one file passes
FACE_MAX_UPLOAD_BYTES (or the declared Content-Length passes FACE_MAX_REQUEST_BYTES),
before the rest of it is read or written anywhere. The view then answers 413.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.html import escape

from recognition.rejections import megabytes


class UploadTooLarge(Exception):
    """An uploaded file or request body is over its limit; ``message`` says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SizeLimitedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: counts bytes per file and passes them on."""

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        if content_length > settings.FACE_MAX_REQUEST_BYTES:
            self._refuse(
                f"The request is {megabytes(content_length)}; the limit is "
                f"{megabytes(settings.FACE_MAX_REQUEST_BYTES)}."
            )

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.FACE_MAX_UPLOAD_BYTES:
            self._refuse(
                f"{self.file_name} is larger than the limit of "
                f"{megabytes(settings.FACE_MAX_UPLOAD_BYTES)} per photo."
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def _refuse(self, message: str) -> None:
        """Tell UploadLimitMiddleware why, and stop reading the body."""
        request: Any = self.request
        request.upload_too_large = UploadTooLarge(message)
        raise StopUpload(connection_reset=True)


class UploadLimitMiddleware:
    """Parses multipart POST bodies up front and answers 413 when a limit was passed.

    The declared Content-Length is checked before a byte of the body is read; files
    are then counted as they stream in (SizeLimitedUploadHandler). DRF reuses the
    parsed ``request.POST``/``request.FILES``, so API views see the same result.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        content_type = request.META.get("CONTENT_TYPE", "")
        if request.method == "POST" and content_type.startswith("multipart/form-data"):
            problem = self._check(request)
            if problem is not None:
                return problem
        return self.get_response(request)

    def _check(self, request: Any) -> Any:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > settings.FACE_MAX_REQUEST_BYTES:
            return _error_response(
                request,
                413,
                "too_large",
                f"The request is {megabytes(declared)}; the limit is "
                f"{megabytes(settings.FACE_MAX_REQUEST_BYTES)}.",
            )
        from django.core.exceptions import (
            RequestDataTooBig,
            TooManyFieldsSent,
            TooManyFilesSent,
        )

        try:
            request.FILES  # noqa: B018 - parse now, streaming through the size-limited handler
        except MultiPartParserError as exc:
            return _error_response(
                request, 400, "malformed_multipart", f"The multipart body is malformed: {exc}"
            )
        except TooManyFilesSent:
            return _error_response(
                request,
                400,
                "too_many_files",
                f"The request carries more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files; "
                "send them in several requests.",
            )
        except TooManyFieldsSent:
            return _error_response(
                request,
                400,
                "too_many_fields",
                f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.",
            )
        except RequestDataTooBig:
            return _error_response(
                request,
                413,
                "too_large",
                "The form fields of the request (not counting files) are over "
                f"{megabytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}.",
            )
        too_large = getattr(request, "upload_too_large", None)
        if too_large is not None:
            return _error_response(request, 413, "too_large", too_large.message)
        return None


def _error_response(request: Any, status: int, code: str, message: str) -> Any:
    accepts_html = "text/html" in request.META.get("HTTP_ACCEPT", "")
    if accepts_html and not request.path.startswith("/api/"):
        return HttpResponse(
            f"<!doctype html><title>Upload refused</title><h1>Upload refused</h1>"
            f"<p>{escape(message)}</p>",
            status=status,
        )
    # No "Connection: close" here: it is a hop-by-hop header that WSGI forbids
    # applications to set (runserver turns such a response into a 500).
    return JsonResponse({"detail": message, "code": code}, status=status)
