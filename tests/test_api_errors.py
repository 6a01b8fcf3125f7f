"""Every error under /api/ is JSON with a stable code: routes, limits, crashes, busy."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from people.models import FaceImage, Person
from tests.api_support import token_client, user_in
from tests.conftest import media_files

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert body["detail"]
    return body


@pytest.mark.parametrize("path", ["/api/nope/", "/api/people/abc/", "/api/people/1/faces/x/"])
def test_unknown_api_urls_are_json_404(path):
    api = token_client(user_in("operators"))
    assert_json_error(api.get(path), 404, "not_found")


def test_unknown_api_url_without_a_login_is_json_too(client):
    assert_json_error(client.get("/api/nope/"), 404, "not_found")


def test_a_method_a_route_does_not_have_is_json_405():
    api = token_client(user_in("operators"))
    assert_json_error(api.delete("/api/identify/"), 405, "method_not_allowed")


def test_more_files_than_allowed_is_400_with_its_own_code(settings, media_root):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    person = Person.objects.create(name="Ann")
    api = token_client(user_in("operators"))
    files = [SimpleUploadedFile(f"{i}.jpg", b"x", content_type="image/jpeg") for i in range(4)]
    response = api.post(f"/api/people/{person.pk}/faces/", {"images": files})
    body = assert_json_error(response, 400, "too_many_files")
    assert "3 files" in body["detail"]
    assert FaceImage.objects.count() == 0 and media_files(media_root) == []


def test_a_crash_in_an_api_view_is_json_500(monkeypatch):
    import recognition.apis

    def crash(**kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(recognition.apis, "face_identify", crash)
    api = token_client(user_in("operators"))
    image = SimpleUploadedFile("a.jpg", b"x", content_type="image/jpeg")
    body = assert_json_error(api.post("/api/identify/", {"image": image}), 500, "server_error")
    assert "boom" not in body["detail"]  # no internals leak


def test_a_zero_byte_file_is_unreadable_image_like_every_other_bad_file():
    person = Person.objects.create(name="Ann")
    api = token_client(user_in("operators"))
    empty = SimpleUploadedFile("empty.jpg", b"", content_type="image/jpeg")
    response = api.post(f"/api/people/{person.pk}/faces/", {"images": [empty]})
    assert_json_error(response, 400, "unreadable_image")


def test_busy_with_large_photos_is_503_with_retry_after(monkeypatch, settings):
    from recognition import images
    from recognition.rejections import ServerBusy

    settings.FACE_HEAVY_DECODE_WAIT = 3

    def busy(*args: object, **kwargs: object):
        raise ServerBusy("a.png is a large photo and the server is busy.", retry_after=3)

    monkeypatch.setattr(images, "heavy_decode_slot", busy)
    person = Person.objects.create(name="Ann")
    api = token_client(user_in("operators"))
    photo = SimpleUploadedFile("a.png", b"x", content_type="image/png")
    response = api.post(f"/api/people/{person.pk}/faces/", {"images": [photo]})
    assert_json_error(response, 503, "server_busy")
    assert response["Retry-After"] == "3"
    assert FaceImage.objects.count() == 0


@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [("server_error", 500, "server_error"), ("bad_request", 400, "bad_request")],
)
def test_djangos_own_error_pages_are_json_under_api_only(rf, handler, status, code):
    """handler500/handler400 (used with DEBUG off, for errors outside any DRF view)."""
    from facerecog_site import error_views, urls

    assert getattr(urls, f"handler{status}") == f"facerecog_site.error_views.{handler}"
    view = getattr(error_views, handler)
    api = view(rf.get("/api/people/"), *([] if handler == "server_error" else [None]))
    assert api.status_code == status and api["Content-Type"] == "application/json"
    body = json.loads(api.content)
    assert body["code"] == code and body["detail"]
    page = view(rf.get("/people/"), *([] if handler == "server_error" else [None]))
    assert page.status_code == status and not page["Content-Type"].startswith("application/json")
