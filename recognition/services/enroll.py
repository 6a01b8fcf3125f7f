"""Enrollment: a person and photos in, a FaceImage with its Embedding out per photo.

:func:`face_images_enroll` is what every delivery path calls (API, web page, admin,
``enroll_folder``); :func:`face_image_store` is the only writer, and the only place
that decides a photo is a duplicate and says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from accounts.users import User, user_or_none
from people.models import FaceImage, Person
from recognition.analysis import EnrollmentAnalysis, Limits, analyze_enrollment
from recognition.consistency import GalleryCheck, GalleryWarning
from recognition.images import content_hash
from recognition.models import Embedding
from recognition.rejections import (
    DUPLICATE,
    TOO_LARGE,
    PhotoRejected,
    StorageUnavailable,
    megabytes,
)
from recognition.storage import STORAGE_ERRNOS


def read_limited(source: bytes | IO[bytes], *, name: str, max_bytes: int) -> bytes:
    """The bytes of ``source``, refusing to read more than ``max_bytes``."""
    data = source if isinstance(source, bytes) else source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PhotoRejected(
            TOO_LARGE, f"{name} is larger than the limit of {megabytes(max_bytes)}."
        )
    return data


@dataclass(frozen=True)
class PhotoUpload:
    """One file to enroll: its name and its bytes (or an open file).

    ``content`` may instead be the photo's analysis when it was analysed before: by the
    admin form's validation, or by ``enroll_folder``'s worker pool.
    """

    name: str
    content: bytes | IO[bytes] | EnrollmentAnalysis

    @classmethod
    def from_file(cls, upload: File) -> PhotoUpload:
        return cls(name=upload.name or "photo", content=upload)


@dataclass(frozen=True)
class EnrollOutcome:
    """What became of one upload: its stored photo, or why it was refused."""

    name: str
    face: FaceImage | None = None
    rejection: PhotoRejected | None = None
    # Enrolled, but it may not show this person (looks like someone else, or unlike them).
    warning: GalleryWarning | None = None


def face_image_duplicate(*, person_name: str, name: str) -> PhotoRejected:
    """The refusal of a photo already enrolled for this person (same content hash)."""
    return PhotoRejected(DUPLICATE, f"{name} is already enrolled for {person_name}.")


def face_images_enroll(
    *,
    person: Person,
    uploads: Iterable[PhotoUpload],
    uploaded_by: User = None,
    check: GalleryCheck | None = None,
) -> list[EnrollOutcome]:
    """Enroll each upload on its own; one outcome per upload, in order.

    A refused photo stores nothing and does not stop the others. An enrolled photo whose
    face does not fit the person (see recognition.consistency) carries a warning; pass
    ``check`` to share one loaded gallery across calls (``enroll_folder``).
    """
    outcomes = []
    # Loaded before storing anything: each photo is judged against what came before it.
    check = check if check is not None else GalleryCheck()
    for upload in uploads:
        try:
            if isinstance(upload.content, EnrollmentAnalysis):
                face = face_image_store(
                    person=person,
                    analysis=upload.content,
                    name=upload.name,
                    uploaded_by=uploaded_by,
                )
            else:
                face = face_image_enroll(
                    person=person,
                    source=upload.content,
                    name=upload.name,
                    uploaded_by=uploaded_by,
                )
        except PhotoRejected as rejection:
            outcomes.append(EnrollOutcome(name=upload.name, rejection=rejection))
        else:
            vector = Embedding.objects.get(face_image=face).vector()
            warning = check.check(person=person, face_id=face.pk, vector=vector)
            outcomes.append(EnrollOutcome(name=upload.name, face=face, warning=warning))
    return outcomes


def face_image_enroll(
    *,
    person: Person,
    source: bytes | IO[bytes],
    name: str,
    uploaded_by: User = None,
) -> FaceImage:
    """Check a photo, find its subject's face and store photo and embedding.

    Raises PhotoRejected (nothing stored) when the photo cannot be used.
    """
    analysis = face_image_check(person=person, source=source, name=name)
    return face_image_store(person=person, analysis=analysis, name=name, uploaded_by=uploaded_by)


def face_image_check(
    *,
    person: Person | None,
    source: bytes | IO[bytes],
    name: str,
) -> EnrollmentAnalysis:
    """The checks of face_image_enroll without storing anything.

    For forms that validate before their person is saved (the admin's add page):
    ``person`` may be None or unsaved, which skips the early duplicate check
    (:func:`face_image_store` makes the final one).
    Raises PhotoRejected.
    """
    limits = Limits.from_settings()
    data = read_limited(source, name=name, max_bytes=limits.max_bytes)
    if (
        person is not None
        and person.pk is not None
        and FaceImage.objects.filter(person=person, sha256=content_hash(data)).exists()
    ):
        raise face_image_duplicate(person_name=person.name, name=name)
    return analyze_enrollment(data, name=name, limits=limits)


def face_image_store(
    *, person: Person, analysis: EnrollmentAnalysis, name: str, uploaded_by: User = None
) -> FaceImage:
    """Store an analysed photo: rows in one transaction, the file written last.

    If anything fails after the file was written, the file is removed again, so a
    rejection or crash leaves neither a row nor an orphan file.
    """
    stored_name = f"faces/{uuid.uuid4().hex}.jpg"
    try:
        return _store(person, analysis, name, uploaded_by, stored_name)
    except OSError as exc:
        # A failed write can leave a partial file under the intended name (Django's
        # FileSystemStorage does not remove it): remove it too, then say why.
        _remove_quietly(stored_name)
        if exc.errno in STORAGE_ERRNOS:
            raise StorageUnavailable(
                f"{name} could not be stored: the server's storage is full or not "
                "writable. Nothing was saved; try again later or tell the administrator."
            ) from exc
        raise


def _store(
    person: Person, analysis: EnrollmentAnalysis, name: str, uploaded_by: User, stored_name: str
) -> FaceImage:
    """Rows in one transaction, the file written last and removed if the rows fail."""
    written: str | None = None
    try:
        with transaction.atomic():
            face = FaceImage.objects.create(
                person=person,
                image=stored_name,
                sha256=analysis.sha256,
                width=analysis.width,
                height=analysis.height,
                box_top=analysis.box[0],
                box_right=analysis.box[1],
                box_bottom=analysis.box[2],
                box_left=analysis.box[3],
                original_name=name[:255],
                uploaded_by=user_or_none(uploaded_by),
            )
            Embedding.objects.create(
                face_image=face,
                data=Embedding.pack(analysis.embedding),
                engine=analysis.engine,
                engine_version=analysis.engine_version,
            )
            written = default_storage.save(stored_name, ContentFile(analysis.jpeg))
            if written != stored_name:
                face.image.name = written
                face.save(update_fields=["image"])
    except IntegrityError:
        _remove(written)
        if FaceImage.objects.filter(person=person, sha256=analysis.sha256).exists():
            raise face_image_duplicate(person_name=person.name, name=name) from None
        raise
    except BaseException:
        _remove(written)
        raise
    return face


def _remove(name: str | None) -> None:
    if name:
        default_storage.delete(name)


def _remove_quietly(name: str) -> None:
    try:
        if default_storage.exists(name):
            default_storage.delete(name)
    except OSError:  # the storage that just failed may refuse this too
        pass
