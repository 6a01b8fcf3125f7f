"""One error format for the whole API: ``{"detail": message, "code": stable_code}``.

Validation errors name the field in ``detail`` ("name: This field is required.") and
keep every message per field in ``errors``. Services' own exceptions are translated
here or in the API view that calls them, never swallowed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import serializers, status
from rest_framework.exceptions import (
    APIException,
    ErrorDetail,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from recognition.admission import OVERLOADED, Overloaded
from recognition.ml.engine import EngineUnavailable
from recognition.rejections import (
    SERVER_BUSY,
    STORAGE_UNAVAILABLE,
    TOO_LARGE,
    PhotoRejected,
)
from recognition.storage import is_storage_failure

logger = logging.getLogger(__name__)


class ApiError(APIException):
    """An error with an explicit status, stable code and optional extra fields."""

    def __init__(
        self,
        detail: str,
        *,
        code: str,
        status_code: int,
        extra: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.extra = extra or {}
        self.retry_after: int | None = retry_after  # sent as Retry-After


def rejection_status(code: str) -> int:
    """The HTTP status of a photo refused with ``code``."""
    if code == TOO_LARGE:
        return status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    if code in {SERVER_BUSY, STORAGE_UNAVAILABLE}:
        return status.HTTP_503_SERVICE_UNAVAILABLE
    return status.HTTP_400_BAD_REQUEST


def photo_rejected_error(exc: PhotoRejected) -> ApiError:
    extra = {"boxes": [list(box) for box in exc.boxes]} if exc.boxes else None
    status_code = rejection_status(exc.code)
    error = ApiError(exc.message, code=exc.code, status_code=status_code, extra=extra)
    error.retry_after = getattr(exc, "retry_after", None)
    return error


def storage_error(exc: OSError) -> ApiError:
    """A disk full, read-only or unwritable media folder: nothing was stored."""
    error = ApiError(
        "The server cannot store files right now (its storage is full or not writable); "
        "nothing was saved. Try again later or tell the administrator.",
        code=STORAGE_UNAVAILABLE,
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
    error.retry_after = 60
    return error


def _first_error(data: Any, field: str | None = None) -> tuple[str | None, ErrorDetail | str]:
    """The first (field path, message) in a DRF error structure."""
    if isinstance(data, dict):
        for key, value in data.items():
            name = str(key) if field is None else f"{field}.{key}"
            return _first_error(value, None if key == "non_field_errors" else name)
    if isinstance(data, list) and data:
        return _first_error(data[0], field)
    return field, data if isinstance(data, str) else str(data)


def error_body(exc: APIException, data: Any) -> dict[str, Any]:
    if isinstance(exc, ValidationError):
        field, message = _first_error(data)
        code = getattr(message, "code", None) or "invalid"
        detail = f"{field}: {message}" if field else str(message)
        return {"detail": detail, "code": code, "errors": data}
    return _plain_body(exc, data)


def _plain_body(exc: APIException, data: Any) -> dict[str, Any]:
    detail = data.get("detail", exc.detail) if isinstance(data, dict) else exc.detail
    code = getattr(detail, "code", None) or exc.default_code
    body: dict[str, Any] = {"detail": str(detail), "code": str(code)}
    body.update(getattr(exc, "extra", {}))
    return body


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, PhotoRejected):
        exc = photo_rejected_error(exc)
    elif isinstance(exc, EngineUnavailable):
        # The face engine cannot run here (its model files are missing or altered): the
        # server's fault, not the photo's, and the message says how to fix it.
        exc = ApiError(
            str(exc), code="engine_unavailable", status_code=status.HTTP_503_SERVICE_UNAVAILABLE
        )
    elif isinstance(exc, Http404):
        exc = NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied(*exc.args)
    elif isinstance(exc, Overloaded):
        exc = ApiError(
            exc.message,
            code=OVERLOADED,
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            retry_after=exc.retry_after,
        )
    elif is_storage_failure(exc):
        logger.error("storage failure: %s", exc)
        exc = storage_error(exc)  # type: ignore[arg-type]
    elif not isinstance(exc, APIException):
        # Anything else is a bug: logged with its traceback, answered in the API's format.
        logger.exception("unhandled error in %s", getattr(context.get("request"), "path", "?"))
        return Response(
            {"detail": SERVER_ERROR_MESSAGE, "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, APIException):
        return response
    response.data = error_body(exc, response.data)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


SERVER_ERROR_MESSAGE = "The server failed to answer this request; the error has been logged."


class ErrorSerializer(serializers.Serializer):
    """The error body, for the OpenAPI schema."""

    detail = serializers.CharField(help_text="What went wrong, in a sentence.")
    code = serializers.CharField(help_text="Stable machine-readable code.")
    errors = serializers.DictField(  # type: ignore[assignment]
        required=False, help_text="Validation errors: every message, per field."
    )
