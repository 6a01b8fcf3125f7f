"""recognition.gallery_admin: people with counts, photo uploads, deletes with files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from people.models import FaceImage, Person
from people.services import person_create
from recognition.analysis import Limits
from recognition.models import Embedding
from recognition.services.enroll import face_image_enroll
from tests.conftest import media_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    return client


def formset_data(client: Client, url: str) -> dict[str, str]:
    """The management form fields of every inline on the page, as rendered."""
    page = client.get(url).content.decode()
    data = {}
    for name, value in re.findall(
        r'name="([^"]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"[^>]*value="(\d+)"', page
    ):
        data[name] = value
    assert "faces-2-TOTAL_FORMS" in data, "the upload inline is on the page"
    return data


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), "image/jpeg")


def test_add_person_with_photos_enrolls_them(admin_client, dev_photos, media_root):
    url = reverse("admin:people_person_add")
    photos = dev_photos("Tom_Cruise")[:2]
    data = {
        **formset_data(admin_client, url),
        "name": "Tom Cruise",
        "external_id": "",
        "notes": "",
        "faces-2-0-photo": upload(photos[0]),
        "faces-2-1-photo": upload(photos[1]),
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    person = Person.objects.get(name="Tom Cruise")
    assert person.created_by is not None and person.created_by.username == "root"
    assert person.external_id is None
    assert person.faces.count() == 2 and Embedding.objects.count() == 2
    assert {f.original_name for f in person.faces.all()} == {p.name for p in photos}
    assert all(f.uploaded_by == person.created_by for f in person.faces.all())
    assert len(media_files(media_root)) == 2


def test_rejected_upload_shows_its_reason_and_stores_nothing(admin_client, faces_dir, media_root):
    person = person_create(name="Barack Obama")
    url = reverse("admin:people_person_change", args=[person.pk])
    data = {
        **formset_data(admin_client, url),
        "name": "Barack Obama",
        "external_id": "",
        "notes": "",
        "faces-2-0-photo": upload(faces_dir / "group" / "fr_two_people.jpg"),
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    page = response.content.decode()
    assert "multiple_faces" in page and "2 faces found in fr_two_people.jpg" in page
    assert FaceImage.objects.count() == 0 and media_files(media_root) == []


def test_duplicate_upload_is_refused_on_the_form(admin_client, dev_photos, media_root):
    person = person_create(name="Tom Cruise")
    photo = dev_photos("Tom_Cruise")[0]
    face_image_enroll(person=person, source=photo.read_bytes(), name=photo.name)
    url = reverse("admin:people_person_change", args=[person.pk])
    data = {
        **formset_data(admin_client, url),
        "name": "Tom Cruise",
        "faces-0-id": str(person.faces.get().pk),
        "faces-0-person": str(person.pk),
        "faces-2-0-photo": upload(photo, "again.jpg"),
        "faces-2-1-photo": upload(dev_photos("Tom_Cruise")[1], "x.jpg"),
        "faces-2-2-photo": upload(dev_photos("Tom_Cruise")[1], "y.jpg"),
    }
    response = admin_client.post(url, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "again.jpg is already enrolled for Tom Cruise" in page
    assert "same photo as another upload" in page
    assert person.faces.count() == 1 and len(media_files(media_root)) == 1


def test_change_page_shows_thumbnails_and_read_only_embeddings(admin_client, dev_photos):
    person = person_create(name="Tom Cruise")
    photo = dev_photos("Tom_Cruise")[0]
    face = face_image_enroll(person=person, source=photo.read_bytes(), name=photo.name)
    page = admin_client.get(reverse("admin:people_person_change", args=[person.pk]))
    html = page.content.decode()
    assert reverse("people:face_thumbnail", args=[face.pk]) in html
    engine = Limits.from_settings().face_engine()
    assert f"128 x float32, {engine.name} {engine.version}" in html
    assert 'name="faces-0-embedding' not in html  # shown, not editable
    thumbnail = admin_client.get(reverse("people:face_thumbnail", args=[face.pk]))
    assert thumbnail.status_code == 200


def test_changelist_searches_and_counts(admin_client, dev_photos):
    tom = person_create(name="Tom Cruise", external_id="EMP-7")
    person_create(name="Keanu Reeves")
    for photo in dev_photos("Tom_Cruise")[:2]:
        face_image_enroll(person=tom, source=photo.read_bytes(), name=photo.name)
    url = reverse("admin:people_person_changelist")
    page = admin_client.get(url, {"q": "emp-7"}).content.decode()
    assert "Tom Cruise" in page and "Keanu Reeves" not in page
    assert re.search(r'class="field-photo_count">2<', page)
    assert re.search(r'class="field-embedding_count">2<', page)
    # Each person's first photo as a face crop (the photo view checks the permission).
    first = tom.faces.order_by("uploaded_at", "id").first()
    assert f'src="{reverse("people:face_thumbnail", args=[first.pk])}"' in page


def test_deleting_a_person_in_the_admin_removes_files(
    admin_client, dev_photos, media_root, django_capture_on_commit_callbacks
):
    person = person_create(name="Tom Cruise")
    for photo in dev_photos("Tom_Cruise")[:2]:
        face_image_enroll(person=person, source=photo.read_bytes(), name=photo.name)
    assert len(media_files(media_root)) == 2
    url = reverse("admin:people_person_delete", args=[person.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Person.objects.exists() and not Embedding.objects.exists()
    assert media_files(media_root) == []


def test_bulk_delete_action_removes_files(
    admin_client, dev_photos, media_root, django_capture_on_commit_callbacks
):
    people = [person_create(name=n) for n in ["Tom Cruise", "Keanu Reeves", "Stays"]]
    for person, folder in zip(
        people, ["Tom_Cruise", "Keanu_Reeves", "Angelina_Jolie"], strict=True
    ):
        photo = dev_photos(folder)[0]
        face_image_enroll(person=person, source=photo.read_bytes(), name=photo.name)
    data = {
        "action": "delete_selected",
        "_selected_action": [str(people[0].pk), str(people[1].pk)],
        "post": "yes",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:people_person_changelist"), data)
    assert response.status_code == 302
    assert list(Person.objects.values_list("name", flat=True)) == ["Stays"]
    remaining = people[2].faces.get()
    assert media_files(media_root) == [Path(remaining.image.path)]


def test_deleting_a_photo_in_the_inline_removes_its_file(
    admin_client, dev_photos, media_root, django_capture_on_commit_callbacks
):
    person = person_create(name="Tom Cruise")
    faces = [
        face_image_enroll(person=person, source=p.read_bytes(), name=p.name)
        for p in dev_photos("Tom_Cruise")[:2]
    ]
    url = reverse("admin:people_person_change", args=[person.pk])
    data = {
        **formset_data(admin_client, url),
        "name": "Tom Cruise",
        "faces-0-id": str(faces[0].pk),
        "faces-0-person": str(person.pk),
        "faces-0-DELETE": "on",
        "faces-1-id": str(faces[1].pk),
        "faces-1-person": str(person.pk),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert response.status_code == 302
    assert list(person.faces.all()) == [faces[1]]
    assert media_files(media_root) == [Path(faces[1].image.path)]


def test_admin_train_button_on_a_gallery_too_small_says_why_and_creates_nothing(admin_client):
    from recognition.models import TrainedModel

    response = admin_client.post(reverse("admin:recognition_trainedmodel_train"), follow=True)
    assert response.status_code == 200
    assert "Training not started: Training needs at least two people" in response.content.decode()
    assert not TrainedModel.objects.exists()


def test_admin_add_with_a_name_already_taken_needs_the_box(admin_client):
    keanu = person_create(name="Keanu Reeves")
    url = reverse("admin:people_person_add")
    data = {**formset_data(admin_client, url), "name": "keanu reeves", "notes": ""}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert f"A person named “Keanu Reeves” already exists (#{keanu.pk})." in (
        response.content.decode()
    )
    assert Person.objects.count() == 1
    response = admin_client.post(url, {**data, "allow_duplicate_name": "on"})
    assert response.status_code == 302
    assert Person.objects.filter(name__iexact="keanu reeves").count() == 2
    # Saving a person under their own name (or its case) is never a duplicate.
    change = reverse("admin:people_person_change", args=[keanu.pk])
    own = {**formset_data(admin_client, change), "name": "Keanu REEVES", "notes": ""}
    assert admin_client.post(change, own).status_code == 302
