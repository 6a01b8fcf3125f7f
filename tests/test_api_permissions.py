"""Django model permissions decide who may do what; the groups come from a migration."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User

from people.models import FaceImage, Person
from people.services import person_create
from recognition.models import TrainedModel
from tests.api_support import token_client, upload, user_in

pytestmark = pytest.mark.django_db


def codenames(group: str) -> set[str]:
    perms = Group.objects.get(name=group).permissions.select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}" for p in perms}


def test_migration_creates_operators_and_viewers():
    assert codenames("viewers") == {
        "people.view_person",
        "recognition.view_trainedmodel",
        "recognition.add_identification",
    }
    everything = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(content_type__app_label__in=["people", "recognition"])
    }
    assert codenames("operators") == everything
    assert {
        "people.add_faceimage",
        "people.delete_person",
        "recognition.add_trainedmodel",
        "recognition.activate_trainedmodel",
        "recognition.view_identification",
    } <= everything


def test_viewer_may_list_people_and_models_and_ask_to_identify(faces_dir):
    viewer = token_client(user_in("viewers"))
    person = person_create(name="Tom Cruise")
    assert viewer.get("/api/people/").status_code == 200
    assert viewer.get(f"/api/people/{person.pk}/").status_code == 200
    assert viewer.get("/api/models/").status_code == 200
    photo = upload(
        faces_dir
        / "dev"
        / "Tom_Cruise"
        / sorted(p.name for p in (faces_dir / "dev" / "Tom_Cruise").glob("*.jpg"))[0]
    )
    # Allowed to identify; nothing is trained yet.
    response = viewer.post("/api/identify/", {"image": photo})
    assert response.status_code == 409
    assert response.json()["code"] == "no_active_model"
    assert "trained" in response.json()["detail"]


def test_viewer_may_not_enroll_delete_train_activate_or_audit(dev_photos):
    viewer = token_client(user_in("viewers"))
    person = person_create(name="Tom Cruise")
    photo = upload(dev_photos("Tom_Cruise")[0])
    attempts = [
        viewer.post("/api/people/", {"name": "X"}, format="json"),
        viewer.patch(f"/api/people/{person.pk}/", {"name": "X"}, format="json"),
        viewer.delete(f"/api/people/{person.pk}/"),
        viewer.post(f"/api/people/{person.pk}/faces/", {"images": [photo]}),
        viewer.get(f"/api/people/{person.pk}/faces/"),
        viewer.post("/api/models/train/"),
        viewer.post("/train_model"),
        viewer.get("/api/identifications/"),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert {r.json()["code"] for r in attempts} == {"permission_denied"}
    model = TrainedModel.objects.create(status=TrainedModel.Status.SUCCEEDED)
    assert viewer.post(f"/api/models/{model.pk}/activate/").status_code == 403
    assert Person.objects.filter(pk=person.pk, name="Tom Cruise").exists()
    assert not FaceImage.objects.exists()
    assert TrainedModel.objects.count() == 1


def test_user_without_permissions_sees_nothing():
    nobody = token_client(user_in(None, "nobody"))
    for url in ["/api/people/", "/api/models/", "/api/identifications/"]:
        assert nobody.get(url).status_code == 403
    assert nobody.get("/api/").status_code == 200  # the index of links only


def test_single_permission_granted_in_the_admin_takes_effect():
    user = user_in(None, "clerk")
    user.user_permissions.add(Permission.objects.get(codename="add_person"))
    clerk = token_client(User.objects.get(pk=user.pk))
    assert clerk.post("/api/people/", {"name": "New"}, format="json").status_code == 201
    assert clerk.get("/api/people/").status_code == 403


def test_superuser_may_do_everything():
    admin = User.objects.create_superuser("root", password="x" * 12)
    client = token_client(admin)
    assert client.get("/api/identifications/").status_code == 200
    assert client.post("/api/people/", {"name": "New"}, format="json").status_code == 201


def test_unsupported_method_is_405_not_403():
    viewer = token_client(user_in("viewers"))
    response = viewer.put("/api/people/", {}, format="json")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_options_needs_what_reading_needs():
    assert token_client(user_in("viewers")).options("/api/people/").status_code == 200
    assert token_client(user_in(None, "nobody")).options("/api/people/").status_code == 403


def test_viewer_sees_a_persons_photos_but_not_their_metadata(dev_photos):
    from tests.recognition_support import enroll

    person = enroll("Tom Cruise", dev_photos("Tom_Cruise")[:1])
    hidden = {"original_name", "sha256", "box", "uploaded_by", "image_url"}

    viewer_face = token_client(user_in("viewers")).get(f"/api/people/{person.pk}/").json()
    operator_face = token_client(user_in("operators")).get(f"/api/people/{person.pk}/").json()

    assert len(viewer_face["faces"]) == len(operator_face["faces"]) == 1
    assert hidden.isdisjoint(viewer_face["faces"][0])
    assert {"id", "state", "uploaded_at"} <= set(viewer_face["faces"][0])
    assert hidden <= set(operator_face["faces"][0])
    assert len(operator_face["faces"][0]["sha256"]) == 64


def test_permissions_are_djangos_own_in_one_query(django_assert_num_queries):
    """The backend reads a user's and their groups' permissions together: same set."""
    from django.contrib.auth.backends import ModelBackend

    from accounts.backends import LockoutModelBackend

    both = user_in("viewers", "vera")
    both.user_permissions.add(Permission.objects.get(codename="add_person"))
    boss = User.objects.create_superuser("boss", password="x" * 12)
    idle = user_in("operators", "ida")
    idle.is_active = False
    idle.save()
    for user in (both, boss, idle, user_in("operators", "olga"), User.objects.create_user("n")):
        expected = ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))
        fresh = User.objects.get(pk=user.pk)
        with django_assert_num_queries(1 if user.is_active else 0):
            assert LockoutModelBackend().get_all_permissions(fresh) == expected
    assert "people.add_person" in LockoutModelBackend().get_all_permissions(both)


def test_a_token_reads_its_users_permissions_with_it(django_assert_num_queries):
    """One query authenticates a token and brings the permissions: Django's same set."""
    from django.contrib.auth.backends import ModelBackend
    from knox.models import AuthToken

    from accounts.authentication import TokenAuthentication

    both = user_in("viewers", "vera")
    both.user_permissions.add(Permission.objects.get(codename="add_person"))
    boss = User.objects.create_superuser("boss", password="x" * 12)
    for user in (both, boss, user_in("operators", "olga"), User.objects.create_user("n")):
        _, key = AuthToken.objects.create(user=user)
        expected = ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))
        with django_assert_num_queries(1):
            authenticated, _ = TokenAuthentication().authenticate_credentials(key.encode())
        assert authenticated.pk == user.pk
        with django_assert_num_queries(1 if user.is_superuser else 0):  # every permission
            assert authenticated.get_all_permissions() == expected
    assert both.has_perm("people.add_person") and not both.has_perm("people.delete_person")
