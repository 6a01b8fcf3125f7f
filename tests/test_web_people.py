"""People pages: the list with search and pages, create, edit, delete."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from people.models import FaceImage, Person
from recognition.models import TrainedModel
from tests.conftest import media_files
from tests.web_support import enroll, operator_client, viewer_client

pytestmark = pytest.mark.django_db


def test_list_shows_people_with_photo_counts_and_thumbnails(
    client: Client, dev_photos: Callable[[str], list[Path]]
) -> None:
    operator_client(client)
    ada = Person.objects.create(name="Ada Lovelace")
    Person.objects.create(name="Bob Marley")
    face = enroll(ada, dev_photos("Kim_Clijsters")[:2])[0]
    response = client.get(reverse("web:person_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>People · Face ID</title>" in html
    assert "Ada Lovelace" in html
    assert "2 photos" in html
    assert "0 photos" in html
    assert reverse("people:face_thumbnail", args=[face.pk]) in html


def test_search_filters_by_name_or_external_id(client: Client) -> None:
    operator_client(client)
    Person.objects.create(name="Ada Lovelace", external_id="E-17")
    Person.objects.create(name="Bob Marley")
    html = client.get(reverse("web:person_list"), {"q": "e-17"}).content.decode()
    assert "Ada Lovelace" in html
    assert "Bob Marley" not in html
    html = client.get(reverse("web:person_list"), {"q": "zzz"}).content.decode()
    assert "Nobody matches" in html


def test_list_is_paginated_and_keeps_the_search(client: Client) -> None:
    operator_client(client)
    Person.objects.bulk_create(Person(name=f"Person {i:02d}") for i in range(25))
    first = client.get(reverse("web:person_list"), {"q": "Person"})
    assert first.context["page_obj"].paginator.num_pages == 2
    assert "?q=Person&amp;page=2" in first.content.decode()
    second = client.get(reverse("web:person_list"), {"q": "Person", "page": 2})
    assert [p.name for p in second.context["people"]] == [f"Person {i}" for i in range(20, 25)]


def test_viewer_sees_the_list_without_add_button_or_thumbnails(
    client: Client, dev_photos: Callable[[str], list[Path]]
) -> None:
    viewer_client(client)
    face = enroll(Person.objects.create(name="Ada"), dev_photos("Kim_Clijsters")[:1])[0]
    html = client.get(reverse("web:person_list")).content.decode()
    assert "Ada" in html
    assert reverse("web:person_create") not in html
    assert reverse("people:face_thumbnail", args=[face.pk]) not in html


def test_create_person(client: Client) -> None:
    user = operator_client(client)
    assert client.get(reverse("web:person_create")).status_code == 200
    response = client.post(
        reverse("web:person_create"), {"name": "  Ada Lovelace ", "external_id": "E-1"}
    )
    person = Person.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:person_detail", args=[person.pk])
    assert (person.name, person.external_id, person.created_by) == ("Ada Lovelace", "E-1", user)


def test_create_without_name_shows_the_error_next_to_the_field(client: Client) -> None:
    operator_client(client)
    response = client.post(reverse("web:person_create"), {"name": ""})
    assert response.status_code == 200
    assert response.context["form"].errors == {"name": ["This field is required."]}
    assert 'id="id_name_error"' in response.content.decode()
    assert not Person.objects.exists()


def test_duplicate_external_id_is_reported_on_that_field(client: Client) -> None:
    operator_client(client)
    Person.objects.create(name="Ada", external_id="E-1")
    response = client.post(reverse("web:person_create"), {"name": "Bob", "external_id": "E-1"})
    assert response.status_code == 200
    assert "external_id" in response.context["form"].errors
    assert Person.objects.count() == 1


def test_a_name_already_taken_warns_and_needs_a_confirmation(client: Client) -> None:
    operator_client(client)
    keanu = Person.objects.create(name="Keanu Reeves")
    url = reverse("web:person_create")
    response = client.post(url, {"name": "  keanu REEVES ", "notes": "the actor"})
    assert response.status_code == 409
    html = response.content.decode()
    assert f"A person named “Keanu Reeves” already exists (#{keanu.pk})." in html
    assert f'href="{keanu.get_absolute_url()}"' in html
    assert 'type="checkbox" name="allow_duplicate_name"' in html
    assert Person.objects.count() == 1
    # Confirmed: a namesake is created.
    response = client.post(
        url, {"name": "Keanu Reeves", "notes": "the other one", "allow_duplicate_name": "on"}
    )
    assert response.status_code == 302
    assert Person.objects.filter(name__iexact="keanu reeves").count() == 2
    # A rename onto a taken name asks too.
    ada = Person.objects.create(name="Ada")
    edit = reverse("web:person_edit", args=[ada.pk])
    assert client.post(edit, {"name": "Keanu Reeves"}).status_code == 409
    ada.refresh_from_db()
    assert ada.name == "Ada"
    # The form page itself does not show the box before it is needed.
    blank = client.get(url).content.decode()
    assert 'type="hidden" name="allow_duplicate_name"' in blank and "checkbox" not in blank


def test_edit_person(client: Client) -> None:
    operator_client(client)
    person = Person.objects.create(name="Ada", notes="old")
    page = client.get(reverse("web:person_edit", args=[person.pk]))
    assert page.status_code == 200
    assert "<title>Edit Ada · Face ID</title>" in page.content.decode()
    response = client.post(
        reverse("web:person_edit", args=[person.pk]),
        {"name": "Ada King", "external_id": "", "notes": "new"},
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.name, person.notes, person.external_id) == ("Ada King", "new", None)


def test_delete_confirmation_says_what_will_be_deleted(
    client: Client, dev_photos: Callable[[str], list[Path]]
) -> None:
    operator_client(client)
    person = Person.objects.create(name="Ada")
    enroll(person, dev_photos("Kim_Clijsters")[:3])
    TrainedModel.objects.create(status=TrainedModel.Status.SUCCEEDED, is_active=True)
    html = client.get(reverse("web:person_delete", args=[person.pk])).content.decode()
    assert "3 photos will be deleted" in html
    assert "the model will be retrained" in html


def test_delete_person_removes_rows_and_files(
    client: Client,
    dev_photos: Callable[[str], list[Path]],
    media_root: Path,
    django_capture_on_commit_callbacks: Callable,
) -> None:
    operator_client(client)
    person = Person.objects.create(name="Ada")
    enroll(person, dev_photos("Kim_Clijsters")[:2])
    assert media_files(media_root)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("web:person_delete", args=[person.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("web:person_list")
    assert not Person.objects.exists()
    assert not FaceImage.objects.exists()
    assert media_files(media_root) == []


@pytest.mark.parametrize(
    ("method", "name", "needs_pk"),
    [
        ("get", "web:person_create", False),
        ("post", "web:person_create", False),
        ("get", "web:person_edit", True),
        ("post", "web:person_edit", True),
        ("get", "web:person_delete", True),
        ("post", "web:person_delete", True),
    ],
)
def test_viewer_cannot_change_people(
    client: Client, method: str, name: str, needs_pk: bool
) -> None:
    viewer_client(client)
    person = Person.objects.create(name="Ada")
    url = reverse(name, args=[person.pk] if needs_pk else [])
    response = getattr(client, method)(url, {"name": "Changed"})
    assert response.status_code == 403
    assert list(Person.objects.values_list("name", flat=True)) == ["Ada"]
