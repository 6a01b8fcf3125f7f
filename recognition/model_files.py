"""Model files (the classifier and its search index) in Django's default storage.

Everything a trained model needs is read and written here, through the storage API, so
a deployment can point ``STORAGES["default"]`` at storage every machine shares (an NFS
mount, an object store backend) and every web and worker machine sees the same files.
Names are relative to the storage (``models/model-<id>-<hex>.npz``); a storage may
return another name than the one asked for, and the returned one is what is kept.
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

MODELS_DIR = "models"


def model_file_write(*, name: str, data: bytes) -> str:
    """Store ``data`` under ``name`` (or a free variant of it); returns the stored name."""
    return default_storage.save(name, ContentFile(data))


def model_file_read(*, name: str) -> bytes:
    """The stored bytes; FileNotFoundError when there is no such file."""
    if not default_storage.exists(name):
        raise FileNotFoundError(name)
    with default_storage.open(name, "rb") as handle:
        return bytes(handle.read())


def model_file_delete(*, name: str) -> None:
    """Remove a stored file; nothing happens when it is already gone."""
    if name:
        default_storage.delete(name)
