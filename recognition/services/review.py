"""Reviewing answers: keep answered faces, correct them, act on the unknown ones.

Every face an identification answers is kept for FACE_REVIEW_KEEP_DAYS days as a JPEG
crop (Django's storage, under ``review/``) with its embedding (:class:`ReviewFace`). The
unknown ones form the inbox; a named one can be corrected ("not this person"), which
records a negative example for that person (:class:`Correction`) and moves the face into
the inbox. Assigning inbox faces enrolls their crops through the normal batch enrollment
service (quality gate included); dismissing deletes them. Old faces are purged by a
scheduled task; a deleted person's faces and negatives go with them (erasure).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from accounts.users import User, user_or_none
from people.models import Person
from people.services import files_delete_on_commit, person_create
from recognition.images import encode_jpeg
from recognition.ml.faces import Box
from recognition.models import (
    Correction,
    Embedding,
    ReviewFace,
    review_crop_upload_to,
)
from recognition.rejections import UNREADABLE_IMAGE, PhotoRejected
from recognition.services.enroll import EnrollOutcome, PhotoUpload, face_images_enroll

logger = logging.getLogger(__name__)

# Added on every side of the face box, as a share of its longer side: the crop must
# still show a whole face to the detector when it is enrolled later.
CROP_MARGIN = 0.6


class ReviewError(Exception):
    """A review action that cannot be done; ``code`` is stable, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class KeptFace:
    """One answered face to keep: where it is, its embedding, who it was named."""

    box: Box
    embedding: np.ndarray
    person_id: int | None
    distance: float


def review_keep_days() -> int:
    return max(0, int(settings.FACE_REVIEW_KEEP_DAYS or 0))


def face_crop_jpeg(rgb: np.ndarray, box: Box, *, margin: float = CROP_MARGIN) -> bytes:
    """A JPEG of the face at ``box`` in ``rgb`` (uint8 (h, w, 3)) with ``margin`` around."""
    height, width = rgb.shape[:2]
    top, right, bottom, left = box
    pad = round(max(right - left, bottom - top) * margin)
    crop = rgb[
        max(0, top - pad) : min(height, bottom + pad), max(0, left - pad) : min(width, right + pad)
    ]
    return encode_jpeg(np.ascontiguousarray(crop))


def review_crops_store(
    *,
    rgb: np.ndarray,
    faces: Sequence[KeptFace],
    encoder: str,
    scale: int = 1,
) -> list[ReviewFace]:
    """Each face of an answer as a review row, its crop file written, the row not saved
    (the caller inserts it with its identification; nothing when FACE_REVIEW_KEEP_DAYS
    is 0).

    ``faces``' boxes are in ``rgb``'s pixels; ``scale`` maps them to the photo's own
    (``rgb`` may be decoded reduced). ``encoder`` names the vector space of the
    embeddings (see review_selectors.encoder_of). On a failure the files written (also
    a partly written one) are removed before the error propagates; when the rows cannot
    be saved, :func:`review_crops_discard` removes them.
    """
    if review_keep_days() == 0:
        return []
    rows = [
        ReviewFace(
            index=index,
            data=Embedding.pack(face.embedding),
            encoder=encoder,
            box_top=face.box[0] * scale,
            box_right=face.box[1] * scale,
            box_bottom=face.box[2] * scale,
            box_left=face.box[3] * scale,
            person_id=face.person_id,
            distance=face.distance,
        )
        for index, face in enumerate(faces)
    ]
    stored: list[str] = []
    try:
        for row, face in zip(rows, faces, strict=True):
            name = review_crop_upload_to(row, "face.jpg")
            stored.append(name)  # removed on failure, also when partly written
            row.crop.name = stored[-1] = default_storage.save(
                name, ContentFile(face_crop_jpeg(rgb, face.box))
            )
        return rows
    except BaseException:
        _remove_files(stored)
        raise


def review_crops_discard(rows: Sequence[ReviewFace]) -> None:
    """Remove the crop files of rows :func:`review_crops_store` made that were not saved."""
    _remove_files([row.crop.name for row in rows])


def _remove_files(names: Sequence[str | None]) -> None:
    for name in dict.fromkeys(names):
        if name:
            try:
                default_storage.delete(name)
            except OSError:  # the storage that just failed may refuse this too
                logger.warning("could not remove %s after a failed save", name)


@transaction.atomic
def review_face_not_person(*, review_face: ReviewFace, user: User = None) -> Correction:
    """ "Not this person": a negative example for the person named; the face to the inbox.

    Takes effect at once (identification refuses that person for faces at least as
    close to a negative as to them) and tightens them at the next training.
    """
    face = ReviewFace.objects.select_for_update().get(pk=review_face.pk)
    if face.person_id is None:
        raise ReviewError(
            "not_named", "This face was not named anyone; assign it to a person instead."
        )
    correction = Correction.objects.create(
        kind=Correction.Kind.NOT_PERSON,
        identification_id=face.identification_id,
        face_index=face.index,
        person_id=face.person_id,
        data=bytes(face.data),
        encoder=face.encoder,
        user=user_or_none(user),
    )
    face.person = None
    face.save(update_fields=["person"])
    return correction


def review_faces_assign(
    *,
    faces: Sequence[ReviewFace],
    person: Person | None = None,
    name: str = "",
    user: User = None,
) -> tuple[Person, list[EnrollOutcome]]:
    """Enroll unknown faces' crops for ``person`` (or a new person called ``name``).

    Each crop passes the normal enrollment (quality gate, duplicates). Enrolled faces
    leave the inbox; refused ones stay, and their outcome says why.
    """
    faces = _unknown(faces)
    if person is None:
        if not name.strip():
            raise ReviewError("person_required", "Choose a person or give a new name.")
        person = person_create(name=name, created_by=user)
    readable, outcome_of = [], {}
    for face in faces:
        name = f"unknown-face-{face.pk}.jpg"
        try:
            with face.crop.open("rb") as handle:
                readable.append((face, PhotoUpload(name=name, content=handle.read())))
        except OSError:
            message = f"The crop of unknown face {face.pk} is missing; dismiss it."
            outcome_of[face.pk] = EnrollOutcome(
                name=name, rejection=PhotoRejected(UNREADABLE_IMAGE, message)
            )
    enrolled_outcomes = face_images_enroll(
        person=person, uploads=[upload for _, upload in readable], uploaded_by=user
    )
    for (face, _), outcome in zip(readable, enrolled_outcomes, strict=True):
        outcome_of[face.pk] = outcome
    outcomes = [outcome_of[face.pk] for face in faces]
    enrolled = [face for face, outcome in zip(faces, outcomes, strict=True) if outcome.face]
    with transaction.atomic():
        for face in enrolled:
            Correction.objects.create(
                kind=Correction.Kind.ASSIGNED,
                identification_id=face.identification_id,
                face_index=face.index,
                person=person,
                user=user_or_none(user),
            )
        _delete(enrolled)
    return person, outcomes


@transaction.atomic
def review_faces_dismiss(*, faces: Sequence[ReviewFace], user: User = None) -> int:
    """Throw unknown faces away (rows and crops); returns how many."""
    faces = _unknown(faces)
    for face in faces:
        Correction.objects.create(
            kind=Correction.Kind.DISMISSED,
            identification_id=face.identification_id,
            face_index=face.index,
            user=user_or_none(user),
        )
    _delete(faces)
    return len(faces)


def review_faces_purge() -> int:
    """Delete kept faces older than FACE_REVIEW_KEEP_DAYS (all of them when it is 0)."""
    cutoff = timezone.now() - timedelta(days=review_keep_days())
    with transaction.atomic():
        old = list(ReviewFace.objects.filter(seen_at__lt=cutoff).select_for_update())
        _delete(old)
    return len(old)


def review_faces_forget_person(*, person: Person) -> None:
    """Erasure: the faces once named ``person`` and their negative examples go.

    Call it inside the transaction that deletes the person (the rows would cascade, the
    crop files would not). The audit keeps that a correction happened, not the face.
    """
    _delete(list(ReviewFace.objects.filter(person=person)))
    Correction.objects.filter(person=person, kind=Correction.Kind.NOT_PERSON).update(
        data=b"", person=None
    )


def _unknown(faces: Sequence[ReviewFace]) -> list[ReviewFace]:
    if not faces:
        raise ReviewError("no_faces", "Choose at least one unknown face.")
    named = [face for face in faces if face.person_id is not None]
    if named:
        raise ReviewError(
            "not_unknown",
            f"Face {named[0].pk} was named someone; only unknown faces can be assigned "
            "or dismissed (say “not this person” first).",
        )
    return list(faces)


def _delete(faces: Sequence[ReviewFace]) -> None:
    files_delete_on_commit([face.crop.name or "" for face in faces])
    ReviewFace.objects.filter(pk__in=[face.pk for face in faces]).delete()
