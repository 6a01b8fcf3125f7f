"""people.services: deleting people and photos removes their files too."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from people.models import FaceImage, Person
from people.selectors import person_list
from people.services import face_image_delete, person_create, person_delete, person_update
from recognition.models import Embedding
from recognition.services.enroll import face_image_enroll
from tests.conftest import media_files

pytestmark = pytest.mark.django_db


def enroll_two(person: Person, dev_photos) -> list[FaceImage]:  # type: ignore[no-untyped-def]
    return [
        face_image_enroll(person=person, source=path.read_bytes(), name=path.name)
        for path in dev_photos("Keanu_Reeves")[:2]
    ]


def test_deleting_a_person_removes_rows_and_files(
    dev_photos, media_root, django_capture_on_commit_callbacks
):
    person = person_create(name="Keanu Reeves")
    enroll_two(person, dev_photos)
    other = person_create(name="Other")
    kept = face_image_enroll(
        person=other, source=dev_photos("Tom_Cruise")[0].read_bytes(), name="t.jpg"
    )
    assert len(media_files(media_root)) == 3
    with django_capture_on_commit_callbacks(execute=True):
        person_delete(person=person)
    assert list(Person.objects.all()) == [other]
    assert Embedding.objects.count() == 1
    assert [p.name for p in media_files(media_root)] == [kept.image.name.split("/")[-1]]


def test_files_stay_when_the_delete_is_rolled_back(dev_photos, media_root):
    person = person_create(name="Keanu Reeves")
    enroll_two(person, dev_photos)
    person_delete(person=person)  # inside the test's transaction: never committed
    assert len(media_files(media_root)) == 2


def test_deleting_one_photo_removes_its_file(
    dev_photos, media_root, django_capture_on_commit_callbacks
):
    person = person_create(name="Keanu Reeves")
    first, second = enroll_two(person, dev_photos)
    with django_capture_on_commit_callbacks(execute=True):
        face_image_delete(face_image=first)
    assert list(person.faces.all()) == [second]
    assert Embedding.objects.count() == 1
    assert len(media_files(media_root)) == 1


def test_external_id_is_unique_and_blank_means_none():
    person_create(name="A", external_id="E1")
    assert person_create(name="B", external_id="  ").external_id is None
    assert person_create(name="C").external_id is None
    with pytest.raises(ValidationError):
        person_create(name="D", external_id="E1")


def test_update_and_list_with_counts(dev_photos):
    person = person_create(name="Keanu")
    enroll_two(person, dev_photos)
    person_update(person=person, name=" Keanu Reeves ", external_id="K-1")
    person_create(name="Somebody")
    found = list(person_list(search="k-1"))
    assert [(p.name, p.face_count) for p in found] == [("Keanu Reeves", 2)]
    assert [p.name for p in person_list()] == ["Keanu Reeves", "Somebody"]
