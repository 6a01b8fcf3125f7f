"""recognition.uploads: the upload size is enforced while the body streams in."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from people.models import FaceImage
from tests.conftest import media_files

pytestmark = pytest.mark.django_db

BOUNDARY = "----facerecog-test-boundary"


class CountingInput(io.BytesIO):
    """wsgi.input that remembers how many bytes the server actually read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.consumed += len(line)
        return line


def multipart(field: str, filename: str, content: bytes) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()
    return head + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def raw_post(path: str, body: bytes) -> tuple[str, bytes, CountingInput]:
    stream = CountingInput(body)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": "localhost",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": stream,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    status: list[str] = []
    # As django.test.Client does: keep the test's database connection open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, lambda s, headers, exc_info=None: status.append(s))
        content = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return status[0], content, stream


def test_oversize_photo_is_refused_before_the_body_is_read(settings, tmp_path, media_root):
    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    settings.FACE_MAX_UPLOAD_BYTES = 100 * 1024
    body = multipart("photo", "huge.jpg", b"\xff" * (4 * 1024 * 1024))

    status, content, stream = raw_post("/admin/people/person/add/", body)

    assert status.startswith("413")
    assert b"too_large" in content or b"limit" in content
    # Stopped within a few 64 KB chunks of the limit, not after reading 4 MB.
    assert stream.consumed < 512 * 1024 < len(body)
    assert media_files(spool) == [] and media_files(media_root) == []
    assert FaceImage.objects.count() == 0


def test_declared_request_size_over_the_limit_is_refused_unread(settings):
    settings.FACE_MAX_REQUEST_BYTES = 1024
    body = multipart("photo", "a.jpg", b"\x00" * 4096)
    status, _, stream = raw_post("/api/people/1/faces/", body)
    assert status.startswith("413")
    assert stream.consumed == 0


def test_photo_under_the_limit_passes_through(settings, tmp_path: Path):
    settings.FACE_MAX_UPLOAD_BYTES = 100 * 1024
    body = multipart("photo", "small.jpg", b"\xff" * 1024)
    status, _, _ = raw_post("/admin/people/person/add/", body)
    assert not status.startswith("413")  # reaches the admin (login redirect)


def test_client_upload_over_the_limit_gets_json_413(settings, media_root):
    settings.FACE_MAX_UPLOAD_BYTES = 10 * 1024
    upload = io.BytesIO(b"\xff" * (50 * 1024))
    upload.name = "big.jpg"
    response = Client().post("/api/anything/", {"photo": upload})
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "big.jpg" in response.json()["detail"]
    assert media_files(media_root) == []


def test_malformed_multipart_is_400():
    response = Client().generic(
        "POST",
        "/api/anything/",
        b"--x\r\nno headers here",
        content_type="multipart/form-data; boundary=",
    )
    assert response.status_code == 400
