"""people.views: photo bytes and thumbnails for allowed, logged-in users only."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from PIL import Image

from people.models import FaceImage
from people.services import person_create
from recognition.analysis import Limits
from recognition.services.enroll import face_image_enroll

pytestmark = pytest.mark.django_db


def face_boxes(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Faces the configured engine finds in ``rgb``, as (top, right, bottom, left)."""
    engine = Limits.from_settings().face_engine()
    return [found.box for found in engine.detect(rgb, scan_side=1024)]


@pytest.fixture
def face(faces_dir) -> FaceImage:
    path = faces_dir / "dev_hires" / "Kit_Harington" / "Kit_Harington__fr_john2.jpg"
    person = person_create(name="Kit Harington")
    return face_image_enroll(person=person, source=path.read_bytes(), name=path.name)


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def viewer() -> User:
    user = User.objects.create_user("viewer", password="pw-viewer-123")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="people", codename="view_faceimage")
    )
    return user


@pytest.mark.parametrize("route", ["people:face_image", "people:face_thumbnail"])
def test_allowed_user_gets_the_photo_with_private_headers(route, face, viewer):
    response = client_for(viewer).get(reverse(route, args=[face.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_full_photo_is_the_stored_file(face, viewer):
    response = client_for(viewer).get(reverse("people:face_image", args=[face.pk]))
    with face.image.open("rb") as handle:
        assert response.content == handle.read()


def test_thumbnail_is_a_small_square_jpeg_of_the_face_not_the_middle(face, viewer):
    response = client_for(viewer).get(reverse("people:face_thumbnail", args=[face.pk]))
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "JPEG"
        assert image.size == (160, 160)
        rgb = np.asarray(image.convert("RGB"))
    # The face fills the preview: found again in it, centred, about half its width.
    boxes = face_boxes(rgb)
    assert len(boxes) == 1, boxes
    top, right, bottom, left = boxes[0]
    assert 50 <= right - left <= 120
    assert abs((left + right) / 2 - 80) < 25 and abs((top + bottom) / 2 - 80) < 30


def test_portrait_photo_thumbnail_shows_the_face_not_the_torso(viewer, faces_dir):
    # A tall photo whose face sits in its upper part: a centre crop would show a chest.
    path = faces_dir / "dev_hires" / "Barack_Obama" / "Barack_Obama__fr_obama.jpg"
    person = person_create(name="Barack Obama")
    with Image.open(path) as original:
        tall = Image.new("RGB", (original.width, original.height * 3), (90, 90, 90))
        tall.paste(original, (0, 0))
        buffer = io.BytesIO()
        tall.save(buffer, format="JPEG", quality=92)
    face = face_image_enroll(person=person, source=buffer.getvalue(), name="tall.jpg")
    assert face.box_bottom < face.height / 3
    response = client_for(viewer).get(reverse("people:face_thumbnail", args=[face.pk]))
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size == (160, 160)
        assert (
            len(
                Limits.from_settings()
                .face_engine()
                .detect(np.asarray(image.convert("RGB")), scan_side=1024)
            )
            == 1
        )


def test_superuser_sees_photos(face):
    admin = User.objects.create_superuser("boss", password="pw-boss-123")
    assert client_for(admin).get(reverse("people:face_image", args=[face.pk])).status_code == 200


@pytest.mark.parametrize("route", ["people:face_image", "people:face_thumbnail"])
def test_anonymous_is_sent_to_login(route, face):
    url = reverse(route, args=[face.pk])
    response = client_for(None).get(url)
    assert response.status_code == 302
    assert "login" in response["Location"] and "next=" in response["Location"]


@pytest.mark.parametrize("route", ["people:face_image", "people:face_thumbnail"])
def test_logged_in_without_permission_is_forbidden(route, face):
    staff = User.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    response = client_for(staff).get(reverse(route, args=[face.pk]))
    assert response.status_code == 403


def test_unknown_photo_is_404(viewer):
    response = client_for(viewer).get(reverse("people:face_image", args=[999999]))
    assert response.status_code == 404


def test_missing_file_is_404(face, viewer):
    face.image.delete(save=False)
    response = client_for(viewer).get(reverse("people:face_thumbnail", args=[face.pk]))
    assert response.status_code == 404


def test_photos_are_not_under_a_public_media_url(face):
    response = client_for(None).get(f"/media/{face.image.name}")
    assert response.status_code in {302, 404}
    assert response.get("Content-Type", "") != "image/jpeg"
