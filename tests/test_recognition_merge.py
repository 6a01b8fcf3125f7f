"""Merging two records of one person: service, web page, API and admin."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from people.models import FaceImage, Person
from recognition.models import Embedding, Identification, TrainedModel
from recognition.services.merge import MergeError, person_merge
from tests.api_support import token_client, user_in
from tests.conftest import media_files
from tests.recognition_support import cached_training, enroll, train_now
from tests.web_support import operator_client, viewer_client

pytestmark = pytest.mark.django_db

__all__ = ["cached_training"]


@pytest.fixture
def two_keanus(dev_photos):
    """Tom enrolled twice (a duplicate record sharing one photo), and Kim."""
    photos = dev_photos("Tom_Cruise")
    first = enroll("Tom Cruise", photos[:3])
    Person.objects.filter(pk=first.pk).update(notes="actor")
    second = enroll("Second record", photos[2:6])  # photos[2] is in both
    Person.objects.filter(pk=second.pk).update(
        name="tom cruise", external_id="E-7", notes="from HR"
    )
    enroll("Kim Clijsters", dev_photos("Kim_Clijsters")[:3])
    return Person.objects.get(pk=first.pk), Person.objects.get(pk=second.pk)


def test_merge_moves_photos_and_embeddings_drops_duplicates_and_queues_a_retrain(
    two_keanus, cached_training, media_root, django_capture_on_commit_callbacks
):
    keep, other = two_keanus
    model = train_now()
    record = Identification.objects.create(channel="web", image_sha256="0" * 64)
    record.people.set([other])
    shared = FaceImage.objects.get(person=other, sha256__in=keep.faces.values("sha256"))
    duplicate_file = media_root / shared.image.name
    assert duplicate_file.is_file()
    with django_capture_on_commit_callbacks(execute=True):
        result = person_merge(source=other, into=keep)
    assert (result.person, result.moved, result.duplicates) == (keep, 3, 1)
    assert not Person.objects.filter(pk=other.pk).exists()
    assert keep.faces.count() == 6
    assert Embedding.objects.filter(face_image__person=keep).count() == 6
    assert not duplicate_file.exists()
    faces = [media_root / face.image.name for face in FaceImage.objects.all()]
    assert all(path.is_file() for path in faces)  # every remaining row has its file
    assert sorted(path for path in media_files(media_root) if "faces/" in str(path)) == sorted(
        faces
    )
    keep.refresh_from_db()
    assert (keep.name, keep.external_id, keep.notes) == ("Tom Cruise", "E-7", "actor\n\nfrom HR")
    assert list(record.people.all()) == [keep]
    assert result.retrain is not None and result.retrain.pk != model.pk
    assert TrainedModel.objects.get(pk=result.retrain.pk).status in {"queued", "succeeded"}


def test_merging_a_person_into_themselves_is_refused(two_keanus):
    keep, _ = two_keanus
    with pytest.raises(MergeError, match="into themselves"):
        person_merge(source=keep, into=keep)
    assert keep.faces.count() == 3


def test_web_merge_page_preselects_the_namesake_and_merges(client: Client, two_keanus):
    keep, other = two_keanus
    operator_client(client)
    detail = client.get(reverse("web:person_detail", args=[other.pk])).content.decode()
    assert reverse("web:person_merge", args=[other.pk]) in detail
    page = client.get(reverse("web:person_merge", args=[other.pk]))
    assert page.status_code == 200
    assert f'<option value="{keep.pk}" selected>Tom Cruise (#{keep.pk})</option>' in (
        page.content.decode()
    )
    response = client.post(
        reverse("web:person_merge", args=[other.pk]), {"into": keep.pk}, follow=True
    )
    assert response.redirect_chain[-1][0] == keep.get_absolute_url()
    html = response.content.decode()
    assert "tom cruise was merged into Tom Cruise: 3 photos moved." in html
    assert "1 already there were not copied twice." in html
    assert FaceImage.objects.filter(person=keep).count() == 6
    assert not Person.objects.filter(pk=other.pk).exists()


def test_web_merge_needs_change_and_delete_permissions(client: Client, two_keanus):
    keep, other = two_keanus
    viewer_client(client)
    url = reverse("web:person_merge", args=[other.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"into": keep.pk}).status_code == 403
    assert Person.objects.filter(pk=other.pk).exists()


def test_api_merge(two_keanus):
    keep, other = two_keanus
    api = token_client(user_in("operators", "olga"))
    response = api.post(f"/api/people/{other.pk}/merge/", {"into": keep.pk}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["person"]["id"] == keep.pk and len(body["person"]["faces"]) == 6
    assert (body["moved"], body["duplicates"]) == (3, 1)
    assert body["retrain_model_id"] is None  # no model trained yet: nothing to retrain
    again = api.post(f"/api/people/{keep.pk}/merge/", {"into": keep.pk}, format="json")
    assert again.status_code == 400 and "into themselves" in again.json()["detail"]
    missing = api.post(f"/api/people/{keep.pk}/merge/", {"into": 999999}, format="json")
    assert missing.status_code == 404
    viewer = token_client(user_in("viewers", "vera"))
    assert viewer.post(f"/api/people/{keep.pk}/merge/", {"into": 1}).status_code == 403


def test_admin_action_merges_into_the_first_created(admin_client, two_keanus):
    keep, other = two_keanus
    response = admin_client.post(
        reverse("admin:people_person_changelist"),
        {"action": "merge_people", "_selected_action": [keep.pk, other.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert f"Merged 1 record(s) into Tom Cruise (#{keep.pk}): 3 photo(s) moved" in (
        response.content.decode()
    )
    assert not Person.objects.filter(pk=other.pk).exists()
    assert keep.faces.count() == 6
