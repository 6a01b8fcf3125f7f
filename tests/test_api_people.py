"""People and their photos over the API: CRUD, uploads, photo bytes, limits."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from people.models import FaceImage, Person
from people.services import person_create
from recognition.services.enroll import face_image_enroll
from tests.api_support import token_client, upload, user_in
from tests.conftest import media_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return token_client(user_in("operators", "olga"))


@pytest.fixture
def viewer():
    return token_client(user_in("viewers", "vera"))


def enrolled(person: Person, path) -> FaceImage:
    return face_image_enroll(person=person, source=path.read_bytes(), name=path.name)


def test_create_retrieve_update_and_list_with_search(operator):
    created = operator.post(
        "/api/people/", {"name": "Tom Cruise", "external_id": "E-1"}, format="json"
    )
    assert created.status_code == 201
    person = Person.objects.get()
    assert created.json()["id"] == person.pk and created.json()["faces"] == []
    assert person.created_by.username == "olga"
    operator.post("/api/people/", {"name": "Keanu Reeves"}, format="json")

    patched = operator.patch(f"/api/people/{person.pk}/", {"notes": "actor"}, format="json")
    assert patched.status_code == 200
    person.refresh_from_db()
    assert (person.name, person.external_id, person.notes) == ("Tom Cruise", "E-1", "actor")
    put = operator.put(f"/api/people/{person.pk}/", {"name": "T. Cruise"}, format="json")
    assert put.status_code == 200 and put.json()["name"] == "T. Cruise"

    listing = operator.get("/api/people/", {"search": "keanu"}).json()
    assert listing["count"] == 1 and listing["results"][0]["name"] == "Keanu Reeves"
    assert operator.get("/api/people/").json()["count"] == 2


def test_people_list_is_paginated(operator):
    for index in range(27):
        person_create(name=f"Person {index:02d}")
    first = operator.get("/api/people/").json()
    assert first["count"] == 27 and len(first["results"]) == 25 and first["next"]
    assert len(operator.get(first["next"]).json()["results"]) == 2


def test_validation_errors_name_the_field(operator):
    person_create(name="Someone", external_id="E-1")
    missing = operator.post("/api/people/", {"notes": "x"}, format="json")
    assert missing.status_code == 400
    assert missing.json()["detail"].startswith("name:") and missing.json()["code"] == "required"
    taken = operator.post("/api/people/", {"name": "Other", "external_id": "E-1"}, format="json")
    assert taken.status_code == 400
    assert taken.json()["detail"].startswith("external_id:")
    assert "external_id" in taken.json()["errors"]
    wrong_type = operator.post("/api/people/", {"name": ["a", "b"]}, format="json")
    assert wrong_type.status_code == 400 and wrong_type.json()["detail"].startswith("name:")


def test_upload_several_files_each_gets_its_own_result(operator, dev_photos, faces_dir, media_root):
    person = person_create(name="Tom Cruise")
    photos = dev_photos("Tom_Cruise")[:2]
    files = [upload(p) for p in photos] + [upload(faces_dir / "noface" / "skimage_coffee.jpg")]
    response = operator.post(f"/api/people/{person.pk}/faces/", {"images": files})
    assert response.status_code == 207
    body = response.json()
    assert (body["enrolled"], body["rejected"]) == (2, 1)
    by_file = {result["file"]: result for result in body["results"]}
    assert by_file["skimage_coffee.jpg"]["status"] == "rejected"
    assert by_file["skimage_coffee.jpg"]["rejection"]["code"] == "no_face"
    assert "skimage_coffee.jpg" in by_file["skimage_coffee.jpg"]["rejection"]["detail"]
    face = by_file[photos[0].name]["face"]
    assert by_file[photos[0].name]["status"] == "enrolled"
    assert face["state"] == "awaiting_training" and len(face["box"]) == 4
    assert FaceImage.objects.filter(person=person).count() == 2
    assert len(media_files(media_root)) == 2

    detail = operator.get(f"/api/people/{person.pk}/").json()
    assert detail["face_count"] == 2 and len(detail["faces"]) == 2
    assert operator.get(f"/api/people/{person.pk}/faces/").json()["count"] == 2


def test_upload_all_enrolled_is_201_and_single_rejection_is_400(operator, dev_photos, faces_dir):
    person = person_create(name="Keanu Reeves")
    ok = operator.post(
        f"/api/people/{person.pk}/faces/", {"images": [upload(dev_photos("Keanu_Reeves")[0])]}
    )
    assert ok.status_code == 201 and ok.json()["enrolled"] == 1
    again = operator.post(
        f"/api/people/{person.pk}/faces/", {"images": [upload(dev_photos("Keanu_Reeves")[0])]}
    )
    assert again.status_code == 400
    assert again.json()["code"] == "duplicate"
    group = upload(faces_dir / "group" / "fr_two_people.jpg")
    two = operator.post(f"/api/people/{person.pk}/faces/", {"images": [group]})
    assert two.status_code == 400 and two.json()["code"] == "multiple_faces"
    assert len(two.json()["results"][0]["rejection"]["boxes"]) == 2


def test_upload_without_images_names_the_field(operator):
    person = person_create(name="Nobody")
    response = operator.post(f"/api/people/{person.pk}/faces/", {"other": "x"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("images:")
    garbage = SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")
    unreadable = operator.post(f"/api/people/{person.pk}/faces/", {"images": [garbage]})
    assert unreadable.status_code == 400 and unreadable.json()["code"] == "unreadable_image"


def test_oversize_upload_is_413_and_nothing_is_written(operator, settings, faces_dir, media_root):
    settings.FACE_MAX_UPLOAD_BYTES = 50_000
    person = person_create(name="Barack Obama")
    photos = sorted((faces_dir / "dev_hires" / "Barack_Obama").glob("*.jpg"))
    big = next(p for p in photos if p.stat().st_size > 100_000)
    response = operator.post(f"/api/people/{person.pk}/faces/", {"images": [upload(big)]})
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not FaceImage.objects.exists()
    assert media_files(media_root) == []


def test_face_under_another_person_is_404(operator, dev_photos):
    tom = person_create(name="Tom Cruise")
    keanu = person_create(name="Keanu Reeves")
    face = enrolled(tom, dev_photos("Tom_Cruise")[0])
    assert operator.get(f"/api/people/{tom.pk}/faces/{face.pk}/").status_code == 200
    for suffix in ["", "image/"]:
        wrong = operator.get(f"/api/people/{keanu.pk}/faces/{face.pk}/{suffix}")
        assert wrong.status_code == 404 and wrong.json()["code"] == "not_found"
    assert operator.delete(f"/api/people/{keanu.pk}/faces/{face.pk}/").status_code == 404
    assert FaceImage.objects.filter(pk=face.pk).exists()
    assert operator.get("/api/people/999999/faces/").status_code == 404


def test_photo_bytes_only_through_the_authenticated_view(operator, viewer, dev_photos, media_root):
    person = person_create(name="Tom Cruise")
    face = enrolled(person, dev_photos("Tom_Cruise")[0])
    url = f"/api/people/{person.pk}/faces/{face.pk}/image/"
    response = operator.get(url, HTTP_ACCEPT="image/jpeg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == (media_root / face.image.name).read_bytes()
    assert token_client().get(url).status_code == 401
    assert viewer.get(url).status_code == 403  # viewers may not see photos
    # No public media URL: neither /media/ nor MEDIA_URL serves the file.
    for prefix in ["/media/", "/media-not-served/"]:
        assert operator.get(prefix + face.image.name).status_code == 404


def test_delete_face_removes_row_and_file(
    operator, dev_photos, media_root, django_capture_on_commit_callbacks
):
    person = person_create(name="Tom Cruise")
    face = enrolled(person, dev_photos("Tom_Cruise")[0])
    assert len(media_files(media_root)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.delete(f"/api/people/{person.pk}/faces/{face.pk}/")
    assert response.status_code == 204
    assert not FaceImage.objects.exists()
    assert media_files(media_root) == []


def test_enroll_is_throttled_per_scope(operator, settings, faces_dir, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    # DRF reads the rates once at import (from THROTTLE_ENROLL in production).
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "enroll": "2/min"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    person = person_create(name="Someone")
    url = f"/api/people/{person.pk}/faces/"
    noface = faces_dir / "noface" / "skimage_coffee.jpg"
    codes = [operator.post(url, {"images": [upload(noface)]}).status_code for _ in range(3)]
    assert codes == [400, 400, 429]
    throttled = operator.post(url, {"images": [upload(noface)]})
    assert throttled.json()["code"] == "throttled" and int(throttled["Retry-After"]) > 0
    assert operator.get(url).status_code == 200  # listing is not throttled


def test_browsable_api_offers_a_working_html_form_for_people(client):
    from django.contrib.auth.models import User

    user = user_in("operators", "olga")
    client.force_login(User.objects.get(pk=user.pk))
    page = client.get("/api/people/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="name"' in html and 'name="external_id"' in html and 'name="notes"' in html
    # The form posts like a browser would (form-encoded, with the CSRF token).
    created = client.post("/api/people/", {"name": "Kit Harington", "notes": "actor"})
    assert created.status_code == 201, created.content
    person = Person.objects.get(name="Kit Harington")
    detail = client.get(f"/api/people/{person.pk}/", HTTP_ACCEPT="text/html").content.decode()
    assert 'value="Kit Harington"' in detail  # the PUT form, filled in


def test_a_second_person_with_the_same_name_is_409_unless_intended(operator):
    first = operator.post("/api/people/", {"name": "Keanu Reeves"}, format="json").json()
    again = operator.post("/api/people/", {"name": "keanu reeves "}, format="json")
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "duplicate_name"
    assert body["existing"] == [{"id": first["id"], "name": "Keanu Reeves"}]
    assert "allow_duplicate_name=true" in body["detail"]
    assert Person.objects.count() == 1
    namesake = operator.post(
        "/api/people/", {"name": "Keanu Reeves", "allow_duplicate_name": True}, format="json"
    )
    assert namesake.status_code == 201 and Person.objects.count() == 2
    other = operator.post("/api/people/", {"name": "Tom Cruise"}, format="json").json()
    renamed = operator.patch(f"/api/people/{other['id']}/", {"name": "KEANU REEVES"}, format="json")
    assert renamed.status_code == 409 and renamed.json()["code"] == "duplicate_name"
    assert len(renamed.json()["existing"]) == 2
    # Changing only the case of one's own name is not a duplicate.
    own = operator.patch(f"/api/people/{other['id']}/", {"name": "tom cruise"}, format="json")
    assert own.status_code == 200 and own.json()["name"] == "tom cruise"
