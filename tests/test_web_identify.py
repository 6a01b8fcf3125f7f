"""Identify page (photo in, boxes and names out) and the audit trail."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from recognition.models import Identification
from tests.web_support import (
    make_user,
    operator_client,
    person_with_photos,
    train,
    upload,
    viewer_client,
)

pytestmark = pytest.mark.django_db

Photos = Callable[[str], list[Path]]


def test_form_page(client: Client) -> None:
    viewer_client(client)
    response = client.get(reverse("web:identify"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Identify · Face ID</title>" in html
    assert '<label for="id_image">Photo</label>' in html
    assert html.count("No model has been trained yet") == 1


def test_without_a_model_the_answer_is_409_with_a_reason(
    client: Client, dev_photos: Photos
) -> None:
    viewer_client(client)
    photo = dev_photos("Kim_Clijsters")[0]
    response = client.post(reverse("web:identify"), {"image": upload(photo)})
    assert response.status_code == 409
    html = response.content.decode()
    # One message for one state: the page's notice, not a form error repeating it.
    assert html.count("No model has been trained yet") == 1
    assert 'id="no-model-notice"' in html
    assert not Identification.objects.exists()


def test_missing_photo_error_is_next_to_the_field(client: Client) -> None:
    viewer_client(client)
    response = client.post(reverse("web:identify"), {})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "image": ["Choose a photo or take one with the camera."]
    }


def test_user_without_identify_permission_is_refused(client: Client, dev_photos: Photos) -> None:
    client.force_login(make_user("nobody", perms=["people.view_person"]))
    response = client.post(
        reverse("web:identify"), {"image": upload(dev_photos("Kim_Clijsters")[0])}
    )
    assert response.status_code == 403
    assert not Identification.objects.exists()


def test_identify_known_person_stranger_and_empty_photo(
    client: Client, dev_photos: Photos, faces_dir: Path
) -> None:
    kim_photos = dev_photos("Kim_Clijsters")
    person_with_photos("Kim Clijsters", kim_photos[:4])
    person_with_photos("Arnold Schwarzenegger", dev_photos("Arnold_Schwarzenegger")[:4])
    model = train()
    viewer = viewer_client(client)

    response = client.post(reverse("web:identify"), {"image": upload(kim_photos[5])})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Identified: 1 face · Face ID</title>" in html
    assert 'src="data:image/jpeg;base64,' in html
    assert f"model #{model.pk}" in html
    [face] = response.context["result"].faces
    assert face.name == "Kim Clijsters"
    assert '<tr class="known">' in html
    assert "Kim Clijsters</a>" in html  # viewers may open the person page
    record = Identification.objects.get()
    assert (record.user, record.channel, record.known_count) == (viewer, "web", 1)

    stranger = dev_photos("Fidel_Castro")[0]
    html = client.post(reverse("web:identify"), {"image": upload(stranger)}).content.decode()
    assert '<tr class="unknown">' in html
    assert "<td>Unknown</td>" in html
    # Why, in words: who came closest and what it needed.
    assert re.search(
        r'<div class="explain small muted">'
        r"(no enrolled person is close enough|two people are almost equally close)</div>\s*"
        r'<div class="explain small closest">closest: [A-Z][a-z]+ [A-Z][a-z]+ — \d\.\d{3}, '
        r"needs ≤ \d\.\d{3}</div>",
        html,
    ), html

    coffee = faces_dir / "noface" / "skimage_coffee.jpg"
    html = client.post(reverse("web:identify"), {"image": upload(coffee)}).content.decode()
    assert "No face was found in skimage_coffee.jpg" in html
    assert Identification.objects.count() == 3


def test_unreadable_file_is_refused_at_the_field(client: Client, dev_photos: Photos) -> None:
    person_with_photos("Kim", dev_photos("Kim_Clijsters")[:2])
    person_with_photos("Arnold", dev_photos("Arnold_Schwarzenegger")[:2])
    train()
    viewer_client(client)
    bogus = SimpleUploadedFile("notes.jpg", b"this is not a picture", content_type="image/jpeg")
    response = client.post(reverse("web:identify"), {"image": bogus})
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "image": [
            "notes.jpg is not an image in a format we can read "
            "(JPEG, PNG, GIF, WebP, TIFF, BMP, AVIF or HEIC/HEIF)."
        ]
    }
    assert 'id="image_error"' in response.content.decode()


def test_audit_trail_for_operators_only(client: Client) -> None:
    someone = make_user("sam")
    Identification.objects.create(
        user=someone,
        channel="api",
        image_sha256="0" * 64,
        face_count=2,
        known_count=1,
        results=[{"name": "Kim"}, {"name": None}],
    )
    viewer_client(client)
    assert client.get(reverse("web:identification_list")).status_code == 403
    assert (
        reverse("web:identification_list")
        not in client.get(reverse("web:dashboard")).content.decode()
    )

    operator_client(client)
    response = client.get(reverse("web:identification_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Recent identifications · Face ID</title>" in html
    assert "sam" in html
    assert "Kim, Unknown" in html
    assert "2 (1 known)" in html


def test_history_filters_by_person_unknown_channel_and_dates(client: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from people.models import Person

    kim, tom = Person.objects.create(name="Kim"), Person.objects.create(name="Tom")
    now = timezone.now()

    def record(channel: str, named: list[Person], faces: int, days_ago: int) -> Identification:
        item = Identification.objects.create(
            channel=channel,
            image_sha256="0" * 64,
            face_count=faces,
            known_count=len(named),
            results=[{"name": p.name} for p in named] + [{"name": None}] * (faces - len(named)),
        )
        item.people.set(named)
        Identification.objects.filter(pk=item.pk).update(created_at=now - timedelta(days=days_ago))
        return item

    kim_web = record("web", [kim], 1, 0)
    tom_token = record("api-token:abc123", [tom], 2, 3)
    stranger_cli = record("cli", [], 1, 10)
    operator_client(client)
    url = reverse("web:identification_list")

    def shown(**params: str) -> set[int]:
        response = client.get(url, params)
        assert response.status_code == 200
        return {item.pk for item in response.context["identifications"]}

    assert shown() == {kim_web.pk, tom_token.pk, stranger_cli.pk}
    assert shown(person=str(kim.pk)) == {kim_web.pk}
    assert shown(unknown_only="on") == {tom_token.pk, stranger_cli.pk}
    assert shown(channel="api") == {tom_token.pk}  # per-token channels fold into "api"
    assert shown(channel="cli", unknown_only="on") == {stranger_cli.pk}
    today = timezone.localdate()
    assert shown(since=str(today - timedelta(days=5))) == {kim_web.pk, tom_token.pk}
    assert shown(until=str(today - timedelta(days=1))) == {tom_token.pk, stranger_cli.pk}
    html = client.get(url, {"person": str(tom.pk)}).content.decode()
    assert '<option value="api">api</option>' in html and "Clear filters" in html
    # A reversed range is an error next to the form, not a silently empty page.
    response = client.get(url, {"since": str(today), "until": str(today - timedelta(days=2))})
    assert "“From” must not be after “To”." in response.content.decode()
    assert not response.context["identifications"]
