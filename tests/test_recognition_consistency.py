"""Gallery consistency: a photo unlike its person, or like someone else, is flagged."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from recognition.consistency import (
    LOOKS_LIKE,
    UNLIKE_PERSON,
    person_photo_warnings,
    photo_gallery_warning,
)
from recognition.ml import consistency
from recognition.services.enroll import face_image_store
from tests.recognition_support import analysis_of, enroll, gallery
from tests.web_support import operator_client

pytestmark = pytest.mark.django_db

__all__ = ["gallery"]


def test_limits_come_from_the_gallery_and_misfiled_faces_are_named():
    # Synthetic, to pin the rule: tight clusters of 3 people, a 4th far away.
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16))
    labels = np.repeat(np.arange(3), 5)
    points = centres[labels] + rng.normal(scale=0.05, size=(15, 16))
    limits = consistency.gallery_limits(points, labels)
    assert limits is not None and limits.samples == 15
    assert 0 < limits.confusable <= limits.same_person < 1
    near_person_0 = centres[0] + rng.normal(scale=0.05, size=16)
    assert consistency.judge(near_person_0, points, labels, own=0, limits=limits).code is None
    misfiled = consistency.judge(near_person_0, points, labels, own=1, limits=limits)
    assert (misfiled.code, misfiled.other) == (LOOKS_LIKE, 0)
    # A first photo for a new person that is somebody already enrolled.
    first = consistency.judge(near_person_0, points, labels, own=3, limits=limits)
    assert (first.code, first.other, first.own_distance) == (LOOKS_LIKE, 0, None)
    stranger = consistency.judge(centres[3], points, labels, own=1, limits=limits)
    assert stranger.code == UNLIKE_PERSON
    # Scale-free: the same gallery in other units gives the same verdicts.
    scaled = consistency.gallery_limits(points * 7, labels)
    assert consistency.judge(near_person_0 * 7, points * 7, labels, own=1, limits=scaled).code == (
        LOOKS_LIKE
    )
    # Too few same-person pairs to know what usual is: no judgement.
    assert consistency.gallery_limits(points[:3], np.array([0, 1, 2])) is None


def test_a_photo_of_kim_enrolled_for_tom_looks_like_kim(gallery, dev_photos):
    tom, kim = gallery["Tom_Cruise"], gallery["Kim_Clijsters"]
    own_photo = analysis_of(dev_photos("Tom_Cruise")[7])
    assert photo_gallery_warning(person=tom, vector=own_photo.embedding) is None
    kim_photo = analysis_of(dev_photos("Kim_Clijsters")[7])
    warning = photo_gallery_warning(person=tom, vector=kim_photo.embedding)
    assert warning is not None and warning.code == LOOKS_LIKE
    assert (warning.looks_like_id, warning.looks_like_name) == (kim.pk, "Kim Clijsters")
    assert warning.looks_like_distance < warning.distance
    assert warning.as_dict()["looks_like"]["name"] == "Kim Clijsters"
    assert "looks like Kim Clijsters" in warning.detail

    # Stored anyway; the person page's check flags exactly that photo.
    face = face_image_store(person=tom, analysis=kim_photo, name="kim.jpg")
    warnings = person_photo_warnings(person=tom)
    assert set(warnings) == {face.pk}
    assert warnings[face.pk].looks_like_name == "Kim Clijsters"
    assert person_photo_warnings(person=kim) == {}


def test_a_second_record_of_someone_enrolled_is_flagged_from_its_first_photo(gallery, dev_photos):
    again = enroll("Someone New", [])
    warning = photo_gallery_warning(
        person=again, vector=analysis_of(dev_photos("Gordon_Brown")[8]).embedding
    )
    assert warning is not None and warning.looks_like_name == "Gordon Brown"


def test_the_person_page_marks_the_photo_and_links_the_look_alike(
    client: Client, gallery, dev_photos
):
    tom, kim = gallery["Tom_Cruise"], gallery["Kim_Clijsters"]
    face = face_image_store(
        person=tom, analysis=analysis_of(dev_photos("Kim_Clijsters")[7]), name="kim.jpg"
    )
    operator_client(client)
    html = client.get(reverse("web:person_detail", args=[tom.pk])).content.decode()
    assert "1 photo may not show Tom Cruise: it is marked below." in html
    assert html.count('data-warning="looks_like"') == 1
    assert (
        f'Looks like <a href="{reverse("web:person_detail", args=[kim.pk])}">Kim Clijsters</a>'
        in (html)
    )
    assert face.original_name in html
    clean = client.get(reverse("web:person_detail", args=[kim.pk])).content.decode()
    assert "data-warning" not in clean and "may not show" not in clean
    # Viewers, who see no photos, see no judgement of them either.
    from tests.web_support import viewer_client

    viewer_client(client)
    html = client.get(reverse("web:person_detail", args=[tom.pk])).content.decode()
    assert "data-warning" not in html and "may not show" not in html


def test_upload_results_carry_the_warning_over_the_api(gallery, dev_photos):
    from tests.api_support import token_client, upload, user_in

    tom, kim = gallery["Tom_Cruise"], gallery["Kim_Clijsters"]
    api = token_client(user_in("operators", "olga"))
    own, other = dev_photos("Tom_Cruise")[7], dev_photos("Kim_Clijsters")[7]
    response = api.post(f"/api/people/{tom.pk}/faces/", {"images": [upload(own), upload(other)]})
    assert response.status_code == 201, response.json()
    first, second = response.json()["results"]
    assert first["status"] == "enrolled" and "warning" not in first
    assert second["status"] == "enrolled"
    assert second["warning"]["code"] == "looks_like"
    assert second["warning"]["looks_like"]["id"] == kim.pk
    assert second["warning"]["looks_like"]["name"] == "Kim Clijsters"
    assert second["warning"]["detail"].startswith("This face looks like Kim Clijsters")
    assert tom.faces.count() == 7  # enrolled all the same


def test_upload_results_carry_the_warning_on_the_web_page(client: Client, gallery, dev_photos):
    from tests.web_support import upload

    tom = gallery["Tom_Cruise"]
    operator_client(client)
    photo = dev_photos("Kim_Clijsters")[7]
    response = client.post(
        reverse("web:photo_upload", args=[tom.pk]), {"photos": [upload(photo)]}, follow=True
    )
    html = response.content.decode()
    assert "1 of 1 photo enrolled for Tom Cruise. 1 may not show Tom Cruise: see below." in html
    assert '<span class="result-warning" data-warning="looks_like"><strong>Check:</strong> ' in (
        html
    )
    assert "This face looks like Kim Clijsters" in html
