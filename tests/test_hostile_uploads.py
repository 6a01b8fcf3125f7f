"""The hostile corpus (tests/hostile_corpus.py) through every upload path.

API, web form and admin each refuse every hostile file with its stable code and keep
nothing (no row, no file); identification refuses the unreadable ones and answers the
readable ones. Built at run time from ../shared/faces: no hostile binaries in the repo.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from people.models import FaceImage, Person
from recognition.models import Embedding, Identification
from tests.api_support import token_client, user_in
from tests.conftest import media_files
from tests.hostile_corpus import CORPUS, HostileFile
from tests.recognition_support import cached_training, gallery, train_now
from tests.test_people_admin import formset_data

__all__ = ["cached_training", "gallery"]
pytestmark = pytest.mark.django_db


def enroll_code(case: HostileFile) -> str:
    return case.code or "no_face"


def as_upload(case: HostileFile, faces_dir) -> SimpleUploadedFile:
    return SimpleUploadedFile(case.name, case.build(faces_dir), content_type="image/jpeg")


def assert_nothing_stored(media_root) -> None:
    assert FaceImage.objects.count() == 0
    assert Embedding.objects.count() == 0
    assert media_files(media_root) == []


def test_api_enrollment_refuses_every_hostile_file(faces_dir, media_root):
    person = Person.objects.create(name="Ann")
    api = token_client(user_in("operators"))
    for case in CORPUS:
        response = api.post(
            f"/api/people/{person.pk}/faces/", {"images": [as_upload(case, faces_dir)]}
        )
        expected = 413 if enroll_code(case) == "too_large" else 400
        assert response.status_code == expected, (case.name, response.content[:300])
        body = response.json()
        assert body["code"] == enroll_code(case), case.name
        assert body["results"][0]["rejection"]["code"] == enroll_code(case)
        assert case.name in body["detail"]
        assert "Ghostscript" not in body["detail"]
        assert_nothing_stored(media_root)


def test_web_form_refuses_every_hostile_file(faces_dir, media_root, client):
    person = Person.objects.create(name="Ann")
    client.force_login(user_in("operators"))
    url = reverse("web:photo_upload", args=[person.pk])
    for case in CORPUS:
        response = client.post(url, {"photos": [as_upload(case, faces_dir)]})
        assert response.status_code == 302, case.name
        page = client.get(response["Location"]).content.decode()
        codes = re.findall(r'data-code="([a-z_]+)"', page)
        assert codes == [enroll_code(case)], case.name
        assert_nothing_stored(media_root)


def test_admin_refuses_every_hostile_file(faces_dir, media_root):
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    person = Person.objects.create(name="Ann")
    url = reverse("admin:people_person_change", args=[person.pk])
    management = formset_data(admin, url)
    for case in CORPUS:
        data = {
            **management,
            "name": "Ann",
            "external_id": "",
            "notes": "",
            "faces-2-0-photo": as_upload(case, faces_dir),
        }
        response = admin.post(url, data)
        assert response.status_code == 200, case.name  # the form again, with the error
        assert f"(reason: {enroll_code(case)})" in response.content.decode(), case.name
        assert_nothing_stored(media_root)


def test_identification_refuses_the_unreadable_and_answers_the_rest(
    gallery, cached_training, faces_dir
):
    train_now()
    api = token_client(user_in("operators"))
    for case in CORPUS:
        response = api.post("/api/identify/", {"image": as_upload(case, faces_dir)})
        if case.code is None:
            assert response.status_code == 200, case.name
            assert response.json()["faces"] == []
        else:
            expected = 413 if case.code == "too_large" else 400
            assert response.status_code == expected, (case.name, response.content[:300])
            assert response.json()["code"] == case.code
    answered = sum(case.code is None for case in CORPUS)
    assert Identification.objects.count() == answered  # refused photos leave no audit row
