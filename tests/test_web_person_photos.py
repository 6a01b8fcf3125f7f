"""A person's page: the gallery, uploading several photos at once, deleting one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from people.models import FaceImage, Person
from tests.conftest import media_files
from tests.web_support import enroll, operator_client, upload, viewer_client

pytestmark = pytest.mark.django_db


def test_page_shows_the_gallery_with_each_photos_state(
    client: Client, dev_photos: Callable[[str], list[Path]]
) -> None:
    operator_client(client)
    person = Person.objects.create(name="Kim Clijsters", external_id="K-1")
    faces = enroll(person, dev_photos("Kim_Clijsters")[:2])
    response = client.get(reverse("web:person_detail", args=[person.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Kim Clijsters · People · Face ID</title>" in html
    assert "Photos (2)" in html
    assert "waiting for the next training" in html
    for face in faces:
        assert reverse("people:face_thumbnail", args=[face.pk]) in html
        assert reverse("web:photo_delete", args=[person.pk, face.pk]) in html
    assert 'enctype="multipart/form-data"' in html
    assert "data-camera" in html


def test_unknown_person_is_404(client: Client) -> None:
    operator_client(client)
    assert client.get(reverse("web:person_detail", args=[999])).status_code == 404


def test_upload_several_photos_each_gets_its_own_result(
    client: Client, faces_dir: Path, dev_photos: Callable[[str], list[Path]]
) -> None:
    user = operator_client(client)
    person = Person.objects.create(name="Kim Clijsters")
    photos = dev_photos("Kim_Clijsters")[:3]
    files = [upload(path) for path in photos]
    files.append(upload(faces_dir / "noface" / "skimage_coffee.jpg"))
    response = client.post(
        reverse("web:photo_upload", args=[person.pk]), {"photos": files}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith(reverse("web:person_detail", args=[person.pk]))
    assert FaceImage.objects.filter(person=person, uploaded_by=user).count() == 3
    html = response.content.decode()
    for path in photos:
        assert f"<strong>Enrolled:</strong> {path.name}</li>" in html
    assert "<strong>Refused:</strong> No face found in skimage_coffee.jpg." in html
    assert "3 of 4 photos enrolled for Kim Clijsters. 1 refused" in html
    # Results are shown once, not on every later visit.
    again = client.get(reverse("web:person_detail", args=[person.pk])).content.decode()
    assert "No face found in skimage_coffee.jpg." not in again


def test_a_photo_of_two_people_is_refused_with_the_reason(client: Client, faces_dir: Path) -> None:
    operator_client(client)
    person = Person.objects.create(name="Joe Biden")
    photo = faces_dir / "group" / "fr_two_people.jpg"
    response = client.post(
        reverse("web:photo_upload", args=[person.pk]), {"photos": [upload(photo)]}, follow=True
    )
    assert "2 faces found in fr_two_people.jpg; upload a photo of this person alone." in (
        response.content.decode()
    )
    assert not FaceImage.objects.exists()


def test_upload_without_files_shows_the_error_at_the_file_field(client: Client) -> None:
    operator_client(client)
    person = Person.objects.create(name="Ada")
    response = client.post(reverse("web:photo_upload", args=[person.pk]), {})
    assert response.status_code == 400
    assert response.context["form"].errors == {"photos": ["Choose at least one photo."]}


def test_viewer_sees_no_upload_or_delete_controls_and_cannot_upload(
    client: Client, dev_photos: Callable[[str], list[Path]]
) -> None:
    viewer_client(client)
    person = Person.objects.create(name="Kim")
    face = enroll(person, dev_photos("Kim_Clijsters")[:1])[0]
    html = client.get(reverse("web:person_detail", args=[person.pk])).content.decode()
    assert reverse("web:photo_upload", args=[person.pk]) not in html
    assert reverse("web:photo_delete", args=[person.pk, face.pk]) not in html
    assert reverse("web:person_edit", args=[person.pk]) not in html
    photo = dev_photos("Kim_Clijsters")[1]
    response = client.post(
        reverse("web:photo_upload", args=[person.pk]), {"photos": [upload(photo)]}
    )
    assert response.status_code == 403
    assert FaceImage.objects.count() == 1
    response = client.post(reverse("web:photo_delete", args=[person.pk, face.pk]))
    assert response.status_code == 403
    assert FaceImage.objects.count() == 1


def test_delete_a_photo(
    client: Client,
    dev_photos: Callable[[str], list[Path]],
    media_root: Path,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    operator_client(client)
    person = Person.objects.create(name="Kim")
    keep, remove = enroll(person, dev_photos("Kim_Clijsters")[:2])
    url = reverse("web:photo_delete", args=[person.pk, remove.pk])
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302
    assert list(FaceImage.objects.all()) == [keep]
    assert [path.name for path in media_files(media_root)] == [Path(keep.image.name).name]


def test_photo_of_another_person_is_404(
    client: Client, dev_photos: Callable[[str], list[Path]]
) -> None:
    operator_client(client)
    kim = Person.objects.create(name="Kim")
    other = Person.objects.create(name="Other")
    face = enroll(kim, dev_photos("Kim_Clijsters")[:1])[0]
    response = client.post(reverse("web:photo_delete", args=[other.pk, face.pk]))
    assert response.status_code == 404
    assert FaceImage.objects.count() == 1
