"""The identify page's explanations and actions, and the "Unknown faces" page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from people.models import Person
from recognition.models import Correction, ReviewFace
from tests.conftest import media_files
from tests.recognition_support import STRANGER, alone, cached_training, gallery, train_now
from tests.web_support import operator_client, upload, viewer_client

__all__ = ["cached_training", "gallery"]
pytestmark = pytest.mark.django_db


def identify(client: Client, photo) -> str:
    response = client.post(reverse("web:identify"), {"image": upload(photo)})
    assert response.status_code == 200
    return response.content.decode()


def test_a_near_miss_says_who_was_closest_and_what_was_needed(
    client, gallery, cached_training, dev_photos, settings
):
    train_now()
    operator_client(client)
    photo = dev_photos("Tom_Cruise")[8]
    html = identify(client, photo)
    # Named: the distance, the cut-off, the matched photos and "Not Tom Cruise".
    tom = gallery["Tom_Cruise"]
    thumbnails = re.findall(r'src="/photos/(\d+)/thumbnail/"', html)
    assert len(thumbnails) == 3
    assert {int(pk) for pk in thumbnails} <= set(tom.faces.values_list("pk", flat=True))
    assert "Not Tom Cruise</button>" in html
    distance = float(re.search(r"distance (\d\.\d{3}), needs", html).group(1))

    settings.FACE_UNKNOWN_DISTANCE = distance - 0.005
    html = identify(client, photo)
    needed = f"{distance - 0.005:.3f}"
    assert f"closest: Tom Cruise — {distance:.3f}, needs ≤ {needed}" in html
    assert "no enrolled person is close enough" in html
    assert '<option value="">This is…</option>' in html


def test_viewers_see_explanations_but_no_review_actions_nor_the_inbox(
    client, gallery, cached_training, dev_photos
):
    train_now()
    viewer_client(client)
    html = identify(client, dev_photos(STRANGER)[0])
    assert "closest: " in html and "This is…" not in html
    assert "Unknown faces</a>" not in html
    face = ReviewFace.objects.get()
    assert client.get(reverse("web:unknown_faces")).status_code == 403
    assert client.get(reverse("web:review_crop", args=[face.pk])).status_code == 403
    assert client.post(reverse("web:unknown_dismiss"), {"face": [face.pk]}).status_code == 403
    assert ReviewFace.objects.count() == 1


def test_inbox_groups_assign_dismiss_and_not_this_person(
    client, gallery, cached_training, dev_photos, media_root, django_capture_on_commit_callbacks
):
    train_now()
    operator_client(client)
    for photo in [*alone(dev_photos(STRANGER)), dev_photos("Angelina_Jolie")[0]]:
        identify(client, photo)
    page = client.get(reverse("web:unknown_faces"))
    assert page.status_code == 200
    groups = page.context["groups"]
    assert [group.count for group in groups] == [2, 1]
    html = page.content.decode()
    assert html.count('class="card inbox-group"') == 2
    assert "3 faces in 2 groups." in html
    crop = client.get(reverse("web:review_crop", args=[groups[0].faces[0].pk]))
    assert crop.status_code == 200 and crop["Content-Type"] == "image/jpeg"

    # Assign the pair to a new person: back to the inbox with a message.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("web:unknown_assign"),
            {"face": groups[0].face_ids, "name": "Muhammad Ali"},
            follow=True,
        )
    assert response.status_code == 200
    assert "2 faces enrolled for Muhammad Ali. Train again" in response.content.decode()
    ali = Person.objects.get(name="Muhammad Ali")
    assert ali.faces.count() == 2 and ReviewFace.objects.count() == 1

    # Neither a person nor a name: refused, nothing changes.
    lone = groups[1].face_ids
    response = client.post(reverse("web:unknown_assign"), {"face": lone}, follow=True)
    assert "Choose a person or type a new name" in response.content.decode()
    assert ReviewFace.objects.count() == 1

    # Dismiss deletes the crop.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("web:unknown_dismiss"), {"face": lone}, follow=True)
    assert "1 face dismissed and deleted." in response.content.decode()
    assert not ReviewFace.objects.exists()
    assert not [p for p in media_files(media_root) if "review" in p.parts]

    # "Not this person" from the identify page, then the same photo is unknown.
    photo = dev_photos("Gordon_Brown")[7]
    html = identify(client, photo)
    assert "Not Gordon Brown</button>" in html
    face = ReviewFace.objects.get(person__isnull=False)
    response = client.post(
        reverse("web:review_not_person", args=[face.pk]),
        {"next": reverse("web:identify")},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("web:identify")
    assert "Recorded: face 1 is not Gordon Brown." in response.content.decode()
    html = identify(client, photo)
    assert "corrected: a reviewer said a face like this is not that person" in html
    assert "closest: Gordon Brown" in html

    # The history lists the corrections.
    history = client.get(reverse("web:identification_list")).content.decode()
    assert "Face 1: not Gordon Brown (olga," in history
    assert "Face 1: enrolled as Muhammad Ali (olga," in history
    assert "Face 1: dismissed (olga," in history
    assert Correction.objects.count() == 4
