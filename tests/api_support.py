"""Helpers for the REST API tests: users in the ready-made groups, token clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group, User
from knox.models import AuthToken
from rest_framework.test import APIClient

PASSWORD = "correct horse battery staple"


def user_in(group: str | None, username: str | None = None) -> User:
    user = User.objects.create_user(username=username or f"{group}-user", password=PASSWORD)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def user_with(username: str, *permissions: str) -> User:
    """A user holding exactly ``permissions`` ("app.codename"), no group.

    For transactional tests: the groups come from a data migration, which the flush
    between such tests removes.
    """
    from django.contrib.auth.models import Permission

    user = User.objects.create_user(username=username, password=PASSWORD)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def token_for(user: User) -> str:
    return AuthToken.objects.create(user=user)[1]


def token_client(user: User | None = None, token: str | None = None) -> APIClient:
    client = APIClient()
    key = token or (token_for(user) if user else None)
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def upload(path: Path, name: str | None = None) -> Any:
    """An open file as the test client's multipart encoder expects it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="image/jpeg")


def single_face_photos(faces_dir: Path, person: str) -> list[Path]:
    """The person's LFW photos in which the manifest found exactly one face, sorted."""
    import csv

    with (faces_dir / "manifests" / "dev.csv").open(newline="") as handle:
        rows = [
            row
            for row in csv.DictReader(handle)
            if row["identity"] == person and row["n_faces_hog_up1"] == "1"
        ]
    return sorted(faces_dir / row["file"] for row in rows)
