"""The prototype's routes, called the way its users' scripts call them (curl -F)."""

from __future__ import annotations

import pytest
from django.test import Client

from recognition.models import TrainedModel
from tests.api_support import token_for, user_in
from tests.recognition_support import placeholder_gallery

pytestmark = pytest.mark.django_db

BOUNDARY = "------------------------d74496d66958873e"


def curl_multipart(field: str, filename: str, content: bytes) -> bytes:
    """The body `curl -F field=@filename` sends."""
    return (
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def curl(path: str, token: str | None, body: bytes = b"") -> object:
    # enforce_csrf_checks: token-authenticated scripts never fetch a CSRF token.
    client = Client(enforce_csrf_checks=True)
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    if not body:
        return client.post(path, **headers)
    return client.generic(
        "POST", path, body, content_type=f"multipart/form-data; boundary={BOUNDARY}", **headers
    )


def test_train_model_queues_one_training_and_answers_its_record():
    placeholder_gallery()
    token = token_for(user_in("operators"))
    first = curl("/train_model", token)
    assert first.status_code == 202
    assert first.json()["status"] == "queued"
    again = curl("/train_model", token, curl_multipart("file", "x.jpg", b"ignored"))
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]  # one job at a time
    assert TrainedModel.objects.count() == 1


def test_train_model_on_a_gallery_too_small_is_a_clear_409_and_creates_nothing():
    token = token_for(user_in("operators"))
    response = curl("/train_model", token)
    assert response.status_code == 409
    assert response.json()["code"] == "gallery_too_small"
    assert response.json()["detail"].startswith("Training needs at least two people")
    assert not TrainedModel.objects.exists()


def test_predict_face_takes_field_file_and_answers_in_the_new_format(dev_photos):
    token = token_for(user_in("operators"))
    photo = dev_photos("Tom_Cruise")[0].read_bytes()
    response = curl("/predict_face", token, curl_multipart("file", "tom.jpg", photo))
    assert response.status_code == 409  # nothing trained: the API's clear error
    assert set(response.json()) == {"detail", "code"}
    assert response.json()["code"] == "no_active_model"
    wrong_field = curl("/predict_face", token, curl_multipart("image", "tom.jpg", photo))
    assert wrong_field.status_code == 400
    assert wrong_field.json()["detail"].startswith("file:")


def test_prototype_routes_need_a_token_not_a_session(dev_photos):
    user = user_in("operators")
    assert curl("/train_model", None).status_code == 401
    assert curl("/predict_face", "not-a-token").status_code == 401
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.post("/train_model").status_code == 401
    assert not TrainedModel.objects.exists()
