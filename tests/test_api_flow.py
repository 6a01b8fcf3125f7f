"""The whole flow over HTTP with a token, on real photos and the real stack.

One test on purpose: it trains one model (Q_SYNC runs the django-q2 task inline) and
uses it for everything that needs a trained model, which keeps the suite fast.
"""

from __future__ import annotations

import pytest

from people.models import FaceImage, Person
from recognition.models import Identification, TrainedModel
from tests.api_support import PASSWORD, single_face_photos, token_client, upload, user_in
from tests.conftest import media_files

ENROLLED = ["Tom_Cruise", "Keanu_Reeves", "Angelina_Jolie"]
PHOTOS_EACH = 5
STRANGER = "Muhammad_Ali"


@pytest.mark.django_db
def test_enroll_train_identify_audit_and_delete_over_http(
    dev_photos, faces_dir, media_root, django_capture_on_commit_callbacks
):
    user_in("operators", "olga")
    token = (
        token_client()
        .post("/api/auth/token/", {"username": "olga", "password": PASSWORD})
        .json()["token"]
    )
    api = token_client(token=token)

    # Create people and upload their photos, several files per request.
    ids: dict[str, int] = {}
    for folder in ENROLLED:
        created = api.post("/api/people/", {"name": folder.replace("_", " ")}, format="json")
        assert created.status_code == 201
        ids[folder] = created.json()["id"]
        files = [upload(p) for p in single_face_photos(faces_dir, folder)[:PHOTOS_EACH]]
        if folder == "Tom_Cruise":
            files.append(upload(faces_dir / "noface" / "skimage_rocket.jpg"))
        response = api.post(f"/api/people/{ids[folder]}/faces/", {"images": files})
        results = response.json()["results"]
        if folder == "Tom_Cruise":
            assert response.status_code == 207
            assert results[-1]["file"] == "skimage_rocket.jpg"
            assert results[-1]["status"] == "rejected"
            assert results[-1]["rejection"]["code"] == "no_face"
        else:
            assert response.status_code == 201
        assert sum(r["status"] == "enrolled" for r in results) == PHOTOS_EACH
    assert FaceImage.objects.count() == PHOTOS_EACH * len(ENROLLED)

    # Nothing trained yet: identification is a clear 409.
    probe = single_face_photos(faces_dir, "Keanu_Reeves")[PHOTOS_EACH]
    assert api.post("/api/identify/", {"image": upload(probe)}).status_code == 409

    # Train: 202 with the queued record, then poll it until it succeeded.
    with django_capture_on_commit_callbacks(execute=True):
        queued = api.post("/api/models/train/")
    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"
    model_id = queued.json()["id"]
    for _ in range(50):
        model = api.get(f"/api/models/{model_id}/").json()
        if model["status"] in {"succeeded", "failed"}:
            break
    assert model["status"] == "succeeded", model["error"]
    assert model["is_active"] and model["progress"] == 1.0
    assert model["people_count"] == 3 and model["val_accuracy"] is not None
    assert model["engine"] == TrainedModel.objects.get(pk=model_id).engine != ""
    assert {p["name"] for p in model["people"]} == {"Tom Cruise", "Keanu Reeves", "Angelina Jolie"}
    detail = api.get(f"/api/people/{ids['Tom_Cruise']}/").json()
    assert {face["state"] for face in detail["faces"]} == {"trained"}

    # Identify an enrolled person from a photo not used for training: the right name.
    answer = api.post("/api/identify/", {"image": upload(probe)})
    assert answer.status_code == 200
    body = answer.json()
    assert body["model_id"] == model_id and (body["width"], body["height"]) == (150, 150)
    assert len(body["faces"]) == 1
    face = body["faces"][0]
    assert face["person"] == "Keanu Reeves" and face["person_id"] == ids["Keanu_Reeves"]
    assert len(face["box"]) == 4 and 0 < face["confidence"] <= 1 and face["distance"] >= 0

    # A stranger is unknown.
    stranger = api.post(
        "/api/identify/", {"image": upload(single_face_photos(faces_dir, STRANGER)[0])}
    ).json()
    assert [f["person"] for f in stranger["faces"]] == [None]
    assert stranger["faces"][0]["person_id"] is None
    # Unknown: no confidence (it would be the rejected candidate's), but the distance.
    assert stranger["faces"][0]["confidence"] is None and stranger["faces"][0]["distance"] > 0

    # A threshold override of 0 turns everyone into "unknown".
    strict = api.post("/api/identify/", {"image": upload(probe), "threshold": "0"}).json()
    assert [f["person"] for f in strict["faces"]] == [None]

    # The prototype's route, curl-style: multipart field "file", token header.
    legacy = api.post(
        "/predict_face",
        {"file": upload(single_face_photos(faces_dir, "Angelina_Jolie")[PHOTOS_EACH])},
    )
    assert legacy.status_code == 200
    assert [f["person"] for f in legacy.json()["faces"]] == ["Angelina Jolie"]

    # Every identification is in the audit trail, with the token that asked.
    key = token[:15]
    records = api.get("/api/identifications/").json()
    assert records["count"] == Identification.objects.count() == 4
    newest = records["results"][0]
    assert newest["channel"] == f"prototype-token:{key}" and newest["user"] == "olga"
    assert {r["channel"] for r in records["results"][1:]} == {f"api-token:{key}"}
    assert newest["known_count"] == 1 and len(newest["image_sha256"]) == 64

    # Rollback to the same (only) model is allowed; a failed one is refused clearly.
    assert api.post(f"/api/models/{model_id}/activate/").status_code == 200
    failed = TrainedModel.objects.create(status=TrainedModel.Status.FAILED)
    refused = api.post(f"/api/models/{failed.pk}/activate/")
    assert refused.status_code == 409 and refused.json()["code"] == "not_activatable"

    # Deleting a person removes their photos from disk and queues a retrain.
    tom_files = {f.image.name for f in FaceImage.objects.filter(person_id=ids["Tom_Cruise"])}
    before = TrainedModel.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        deleted = api.delete(f"/api/people/{ids['Tom_Cruise']}/")
    assert deleted.status_code == 204
    assert not Person.objects.filter(pk=ids["Tom_Cruise"]).exists()
    remaining = {str(p.relative_to(media_root)) for p in media_files(media_root)}
    assert not tom_files & remaining
    assert len([name for name in remaining if name.startswith("faces/")]) == PHOTOS_EACH * 2
    assert TrainedModel.objects.count() == before + 1
    retrain = TrainedModel.objects.order_by("-id").first()
    assert retrain.requested_at > TrainedModel.objects.get(pk=model_id).finished_at


@pytest.mark.django_db
def test_training_a_gallery_too_small_answers_409_and_leaves_no_failed_model():
    from recognition.models import TrainedModel
    from tests.api_support import token_client, user_in

    api = token_client(user_in("operators", "olga"))
    response = api.post("/api/models/train/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "gallery_too_small"
    assert body["detail"] == (
        "Training needs at least two people with at least two photos each; "
        "the gallery has 0 people, 0 of them with two or more photos."
    )
    assert not TrainedModel.objects.exists()
    assert api.get("/api/models/").json()["count"] == 0


@pytest.mark.django_db
def test_identification_list_filters_like_the_history_page():
    from people.models import Person
    from recognition.models import Identification
    from tests.api_support import token_client, user_in

    kim = Person.objects.create(name="Kim")
    named = Identification.objects.create(
        channel="web", image_sha256="0" * 64, face_count=1, known_count=1
    )
    named.people.set([kim])
    stranger = Identification.objects.create(
        channel="api-token:abc", image_sha256="1" * 64, face_count=1, known_count=0
    )
    api = token_client(user_in("operators", "olga"))

    def ids(**params: str) -> list[int]:
        response = api.get("/api/identifications/", params)
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["results"]]

    assert ids(person=str(kim.pk)) == [named.pk]
    assert ids(unknown_only="true") == [stranger.pk]
    assert ids(channel="api") == [stranger.pk]
    assert ids(since="2000-01-01", until="2999-12-31") == [stranger.pk, named.pk]
    bad = api.get("/api/identifications/", {"since": "2026-02-01", "until": "2026-01-01"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert bad.json()["detail"] == "since: must not be after until."
