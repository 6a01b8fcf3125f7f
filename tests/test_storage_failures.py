"""A full disk or an unwritable media folder: 503 storage_unavailable, nothing stored.

Simulated with a storage that fails the way the real one does (the tests run as root,
for whom a chmod'ed folder is still writable): a write that runs out of space after
4 KB, leaving the partial file behind as Django's FileSystemStorage does, and a folder
that cannot be created or written.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage

from people.models import FaceImage, Person
from recognition.models import Embedding
from tests.api_support import token_client, upload, user_in
from tests.conftest import media_files

pytestmark = pytest.mark.django_db


class DiskFullStorage(FileSystemStorage):
    """Writes 4 KB of the file, then fails with ENOSPC (the partial file stays)."""

    def _save(self, name: str, content: Any) -> str:
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.read()[:4096])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


class UnwritableFolderStorage(FileSystemStorage):
    """The faces/ folder cannot be created or written (EACCES)."""

    def _save(self, name: str, content: Any) -> str:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), self.path(name))


STORAGES = {
    "disk_full": "tests.test_storage_failures.DiskFullStorage",
    "unwritable": "tests.test_storage_failures.UnwritableFolderStorage",
}


@pytest.fixture(params=sorted(STORAGES))
def failing_storage(request, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": STORAGES[request.param]},
    }
    return request.param


def assert_nothing_stored(media_root: Path) -> None:
    assert FaceImage.objects.count() == 0
    assert Embedding.objects.count() == 0
    assert media_files(media_root) == []


def test_api_upload_is_503_storage_unavailable(failing_storage, dev_photos, media_root):
    person = Person.objects.create(name="Tom Cruise")
    api = token_client(user_in("operators"))
    photos = [upload(path) for path in dev_photos("Tom_Cruise")[:2]]
    response = api.post(f"/api/people/{person.pk}/faces/", {"images": photos})
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "storage_unavailable"
    assert "Nothing was saved" in body["detail"]
    assert int(response["Retry-After"]) > 0
    assert [r["rejection"]["code"] for r in body["results"]] == ["storage_unavailable"] * 2
    assert_nothing_stored(media_root)


def test_web_upload_says_why_and_stores_nothing(failing_storage, dev_photos, media_root, client):
    from django.urls import reverse

    person = Person.objects.create(name="Tom Cruise")
    client.force_login(user_in("operators"))
    photo = upload(dev_photos("Tom_Cruise")[0])
    response = client.post(reverse("web:photo_upload", args=[person.pk]), {"photos": [photo]})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "could not be stored" in page
    assert_nothing_stored(media_root)


def test_admin_upload_says_why_and_stores_nothing(failing_storage, dev_photos, media_root):
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from tests.test_people_admin import formset_data

    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    person = Person.objects.create(name="Tom Cruise")
    url = reverse("admin:people_person_change", args=[person.pk])
    data = {
        **formset_data(admin, url),
        "name": "Tom Cruise",
        "external_id": "",
        "notes": "",
        "faces-2-0-photo": upload(dev_photos("Tom_Cruise")[0]),
    }
    response = admin.post(url, data, follow=True)
    assert response.status_code == 200
    assert "(reason: storage_unavailable)" in response.content.decode()
    assert_nothing_stored(media_root)
