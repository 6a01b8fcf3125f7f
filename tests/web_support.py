"""Helpers shared by the web UI tests: users in the contract's roles, uploads."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from people.models import FaceImage, Person
from recognition.models import TrainedModel
from recognition.services.enroll import face_image_enroll
from recognition.services.train import model_train, model_train_request

# The contract's "viewers" group: look people up and identify photos, nothing else.
VIEWER_PERMISSIONS = (
    "people.view_person",
    "recognition.view_trainedmodel",
    "recognition.add_identification",
)
PASSWORD = "a-long-test-password-42"


def make_user(username: str, *, perms: Iterable[str] = (), operator: bool = False) -> User:
    """A user with the given "app.codename" permissions (operator: all of both apps)."""
    user = User.objects.create_user(username=username, password=PASSWORD)
    if operator:
        permissions = Permission.objects.filter(
            content_type__app_label__in=["people", "recognition"]
        )
    else:
        wanted = [perm.split(".", 1) for perm in perms]
        permissions = Permission.objects.none()
        for app_label, codename in wanted:
            permissions = permissions | Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            )
    user.user_permissions.set(permissions)
    return user


def operator_client(client: Client) -> User:
    user = make_user("olga", operator=True)
    client.force_login(user)
    return user


def viewer_client(client: Client) -> User:
    user = make_user("victor", perms=VIEWER_PERMISSIONS)
    client.force_login(user)
    return user


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="image/jpeg")


def enroll(person: Person, photos: Iterable[Path]) -> list[FaceImage]:
    return [
        face_image_enroll(person=person, source=path.read_bytes(), name=path.name)
        for path in photos
    ]


def train() -> TrainedModel:
    """Train synchronously on the current gallery (the model becomes active)."""
    model = model_train_request(enqueue=False)
    return model_train(model_id=model.pk)


def person_with_photos(name: str, photos: Iterable[Path]) -> Person:
    person = Person.objects.create(name=name)
    enroll(person, photos)
    return person
