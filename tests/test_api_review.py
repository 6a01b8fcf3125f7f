"""/api/identify/ explained, /api/unknown-faces/ and not-this-person, as the groups see them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from people.models import Person
from recognition.models import Correction, ReviewFace
from tests.api_support import token_client, upload, user_in
from tests.recognition_support import STRANGER, alone, cached_training, gallery, train_now

__all__ = ["cached_training", "gallery"]
pytestmark = pytest.mark.django_db


def test_operators_may_review_and_viewers_may_not():
    operators = Group.objects.get(name="operators").permissions.values_list("codename", flat=True)
    assert {"view_reviewface", "change_reviewface", "delete_reviewface", "add_correction"} <= set(
        operators
    )
    viewers = Group.objects.get(name="viewers").permissions.values_list("codename", flat=True)
    assert not {"view_reviewface", "add_correction"} & set(viewers)


def test_identify_explains_then_the_inbox_assigns_and_corrections_show_in_the_history(
    gallery, cached_training, dev_photos, django_capture_on_commit_callbacks
):
    train_now()
    operator = token_client(user_in("operators", "olga"))
    viewer = token_client(user_in("viewers", "victor"))

    # A named face: candidates, cut-off, matched photos with their URLs.
    answer = viewer.post("/api/identify/", {"image": upload(dev_photos("Tom_Cruise")[8])})
    assert answer.status_code == 200
    [tom] = answer.json()["faces"]
    assert tom["person"] == "Tom Cruise" and tom["reason"] is None
    assert tom["candidates"][0] == {
        "person_id": tom["person_id"],
        "person": "Tom Cruise",
        "distance": tom["distance"],
    }
    assert len(tom["candidates"]) == 3 and tom["distance"] <= tom["cutoff"] <= tom["threshold"]
    assert len(tom["matched_photos"]) == 3
    match = tom["matched_photos"][0]
    assert match["person_id"] == tom["person_id"]
    assert match["image_url"].endswith(
        f"/api/people/{tom['person_id']}/faces/{match['face_image_id']}/image/"
    )
    assert match["thumbnail_url"].endswith(f"/photos/{match['face_image_id']}/thumbnail/")

    # A stranger twice: unknown with a reason, kept for review.
    for photo in alone(dev_photos(STRANGER)):
        [face] = viewer.post("/api/identify/", {"image": upload(photo)}).json()["faces"]
        assert face["person"] is None and face["reason"] in {
            "no_close_match",
            "ambiguous",
            "model_veto",
        }
        assert face["review_face_id"] and face["candidates"] and face["cutoff"] < face["distance"]

    # Viewers do not see the inbox (nor its crops); operators do.
    assert viewer.get("/api/unknown-faces/").status_code == 403
    inbox = operator.get("/api/unknown-faces/")
    assert inbox.status_code == 200
    body = inbox.json()
    assert body["faces"] == 2 and body["keep_days"] == 30
    [group] = body["groups"]
    assert group["count"] == 2 and len(group["face_ids"]) == 2
    crop_url = group["faces"][0]["crop_url"]
    assert viewer.get(crop_url).status_code == 403
    crop = operator.get(crop_url)
    assert crop.status_code == 200 and crop["Content-Type"] == "image/jpeg"
    assert crop["Cache-Control"] == "no-store"

    # Bad requests are specific.
    both = operator.post(
        "/api/unknown-faces/assign/",
        {"face_ids": group["face_ids"], "person_id": 1, "name": "X"},
        format="json",
    )
    assert both.status_code == 400 and both.json()["code"] == "invalid"
    gone = operator.post("/api/unknown-faces/dismiss/", {"face_ids": [999999]}, format="json")
    assert gone.status_code == 404 and gone.json()["code"] == "unknown_face_not_found"
    assert (
        viewer.post(
            "/api/unknown-faces/dismiss/", {"face_ids": group["face_ids"]}, format="json"
        ).status_code
        == 403
    )

    # Assign the group to a new person: enrolled through the normal service.
    with django_capture_on_commit_callbacks(execute=True):
        assigned = operator.post(
            "/api/unknown-faces/assign/",
            {"face_ids": group["face_ids"], "name": "Muhammad Ali"},
            format="json",
        )
    assert assigned.status_code == 201, assigned.json()
    ali = Person.objects.get(pk=assigned.json()["person_id"])
    assert ali.name == "Muhammad Ali" and ali.faces.count() == 2
    assert assigned.json()["enrolled"] == 2
    assert operator.get("/api/unknown-faces/").json()["groups"] == []

    # "Not this person" on Tom's answer, by its position in the answer.
    record = answer.json()["identification_id"]
    assert (
        viewer.post(
            f"/api/identifications/{record}/not-this-person/", {"face": 0}, format="json"
        ).status_code
        == 403
    )
    missing = operator.post(
        f"/api/identifications/{record}/not-this-person/", {"face": 5}, format="json"
    )
    assert missing.status_code == 404 and missing.json()["code"] == "face_not_kept"
    corrected = operator.post(
        f"/api/identifications/{record}/not-this-person/", {"face": 0}, format="json"
    )
    assert corrected.status_code == 201
    assert corrected.json()["kind"] == "not_person" and corrected.json()["person"] == "Tom Cruise"
    again = operator.post(
        f"/api/identifications/{record}/not-this-person/", {"face": 0}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "not_named"
    [now] = viewer.post("/api/identify/", {"image": upload(dev_photos("Tom_Cruise")[8])}).json()[
        "faces"
    ]
    assert now["person"] is None and now["reason"] == "corrected"

    # The history shows each correction with its identification.
    history = operator.get(f"/api/identifications/{record}/").json()
    assert [c["kind"] for c in history["corrections"]] == ["not_person"]
    assert history["corrections"][0]["user"] == "olga"
    assert Correction.objects.filter(kind="assigned", person=ali).count() == 2
    assert ReviewFace.objects.filter(person__isnull=True).count() == 2  # Tom's + the new one


def test_the_schema_documents_the_new_fields_and_endpoints():
    client = token_client(user_in("operators", "olga"))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    answer = schema["components"]["schemas"]["FaceAnswer"]["properties"]
    fields = ("reason", "threshold", "cutoff", "candidates", "matched_photos", "review_face_id")
    for field in fields:
        assert field in answer, field
    paths = schema["paths"]
    for path in (
        "/api/unknown-faces/",
        "/api/unknown-faces/assign/",
        "/api/unknown-faces/dismiss/",
        "/api/unknown-faces/{id}/crop/",
        "/api/identifications/{id}/not-this-person/",
    ):
        assert path in paths, path


def test_assigned_crops_pass_the_enrollment_quality_gate(
    gallery, cached_training, dev_photos, settings
):
    train_now()
    operator = token_client(user_in("operators", "olga"))
    [face] = operator.post("/api/identify/", {"image": upload(dev_photos(STRANGER)[0])}).json()[
        "faces"
    ]
    settings.FACE_MIN_SIZE = 1000  # no face in these photos is that large
    refused = operator.post(
        "/api/unknown-faces/assign/",
        {"face_ids": [face["review_face_id"]], "person_id": gallery["Tom_Cruise"].pk},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["code"] == "all_rejected"
    [result] = refused.json()["results"]
    assert result["status"] == "rejected" and result["rejection"]["code"] == "face_too_small"
    assert gallery["Tom_Cruise"].faces.count() == 5
    assert ReviewFace.objects.filter(pk=face["review_face_id"], person__isnull=True).exists()


def test_corrections_are_listed_read_only_in_the_admin(client):
    from django.contrib.auth.models import User

    from recognition.models import Identification

    admin = User.objects.create_superuser("root", password="x")
    record = Identification.objects.create(channel="web", image_sha256="0" * 64)
    person = Person.objects.create(name="Kim")
    Correction.objects.create(
        kind="not_person", identification=record, face_index=0, person=person, user=admin
    )
    client.force_login(admin)
    page = client.get("/admin/recognition/correction/")
    assert page.status_code == 200 and "Not this person" in page.content.decode()
    assert client.get("/admin/recognition/correction/add/").status_code == 403


def test_the_identify_answer_is_what_its_documented_serializer_gives(
    gallery, cached_training, dev_photos
):
    """/api/identify/ builds its answer without DRF's per-field machinery: same JSON."""
    from rest_framework.renderers import JSONRenderer

    from recognition.serializers import IdentificationResultSerializer, identification_result_data
    from recognition.services.identify import face_identify

    train_now()
    photos = [
        dev_photos("Tom_Cruise")[8],
        *alone(dev_photos(STRANGER)),
        dev_photos("Tom_Cruise")[6],
    ]
    kinds = set()
    for photo in photos:
        result = face_identify(source=photo.read_bytes(), name=photo.name).as_dict()
        kinds |= {bool(face["matched_photos"]) for face in result["faces"]}
        fast = JSONRenderer().render(identification_result_data(result))
        assert fast == JSONRenderer().render(IdentificationResultSerializer(result).data)
    assert kinds == {True, False}  # named faces with matched photos, and unknown ones


def test_match_urls_from_a_route_template_equal_reverse_also_under_a_script_prefix():
    from django.urls import get_script_prefix, reverse, set_script_prefix

    from recognition.serializers import reverse_ids

    saved = get_script_prefix()
    try:
        for prefix in ("/", "/faces/"):
            set_script_prefix(prefix)
            for person, photo in ((1, 2), (31, 31), (7, 918273645)):
                assert reverse_ids("api:person-face-image", person, photo) == reverse(
                    "api:person-face-image", args=[person, photo]
                )
                assert reverse_ids("people:face_thumbnail", photo) == reverse(
                    "people:face_thumbnail", args=[photo]
                )
            assert reverse_ids("people:face_thumbnail", 5).startswith(prefix)
    finally:
        set_script_prefix(saved)
