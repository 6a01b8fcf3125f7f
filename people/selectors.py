"""Reads for people and their photos."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from people.models import FaceImage, Person
from people.thumbnails import jpeg_thumbnail


@dataclass(frozen=True)
class PhotoBytes:
    """A photo ready to be sent: its bytes and their media type."""

    content: bytes
    content_type: str


def person_list(*, search: str = "") -> QuerySet[Person]:
    """People, with ``face_count``, optionally filtered by name or external id."""
    queryset = Person.objects.annotate(face_count=Count("faces", distinct=True))
    search = search.strip()
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(external_id__icontains=search))
    return queryset.order_by("name", "id")


def person_same_name(*, name: str, exclude_pk: int | None = None) -> QuerySet[Person]:
    """Other people whose name is ``name`` (ignoring case and surrounding spaces)."""
    queryset = Person.objects.filter(name__iexact=name.strip())
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return queryset.order_by("id")


def face_image_photo(*, face_image: FaceImage) -> PhotoBytes:
    """The stored (re-encoded, metadata-free) photo. Raises FileNotFoundError."""
    with face_image.image.open("rb") as handle:
        content = handle.read()
    content_type = mimetypes.guess_type(face_image.image.name or "")[0] or "image/jpeg"
    return PhotoBytes(content=content, content_type=content_type)


def face_image_thumbnail(*, face_image: FaceImage) -> PhotoBytes:
    """A small square JPEG around the enrolled face. Raises FileNotFoundError."""
    photo = face_image_photo(face_image=face_image)
    content = jpeg_thumbnail(
        photo.content, box=face_image.box, box_size=(face_image.width, face_image.height)
    )
    return PhotoBytes(content=content, content_type="image/jpeg")
