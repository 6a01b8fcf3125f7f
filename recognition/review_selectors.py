"""Reads for reviewing answers: the unknown-faces inbox, kept faces, negatives, corrections."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from people.selectors import PhotoBytes
from people.thumbnails import jpeg_thumbnail
from recognition.loading import LoadedModel, NoActiveModel, active_model
from recognition.ml import openset
from recognition.ml.grouping import group_faces
from recognition.models import Correction, Embedding, ReviewFace

# The inbox groups at most this many of the newest unknown faces at a time (clustering
# is quadratic); older ones show up as newer ones are assigned or dismissed.
INBOX_LIMIT = 2000
GROUP_SAMPLE = 6  # crops shown per group
# Grouping compares faces with each other, not with a centroid: two photos of one person
# are farther apart than each is from the person's mean, so the cut is the calibrated
# threshold times a factor per engine. Measured on dev/ (20 people; same-person pairs of
# their first 4-5 photos, different people 2 photos each):
# - dlib: same-person pairs 0.47 median, 0.56 at the 90th percentile; different people
#   0.63 at the 1st percentile. Threshold near 0.48: x 1.25 = 0.60 splits the two.
# - opencv (SFace): same-person pairs 0.84 median, 0.97 at the 90th, 1.08 at the 99th;
#   different people 1.10 at the lowest, 1.17 at the 1st percentile. Threshold near
#   0.95: x 1.17 = 1.11 splits them.
GROUP_SCALE = {"dlib": 1.25, "opencv": 1.17}


@dataclass(frozen=True)
class InboxGroup:
    """Unknown faces that are probably one person, oldest first."""

    faces: list[ReviewFace]

    @property
    def count(self) -> int:
        return len(self.faces)

    @property
    def face_ids(self) -> list[int]:
        return [face.pk for face in self.faces]

    @property
    def sample(self) -> list[ReviewFace]:
        return self.faces[:GROUP_SAMPLE]

    @property
    def first_seen(self) -> datetime:
        return self.faces[0].seen_at

    @property
    def last_seen(self) -> datetime:
        return self.faces[-1].seen_at


def encoder_name(engine: str, version: str) -> str:
    """The vector space of embeddings computed by ``engine`` at ``version``: faces kept
    and negatives recorded in another one are never compared with it."""
    return f"{engine}/{version}"


def encoder_of(loaded: LoadedModel) -> str:
    """The vector space of the embeddings ``loaded`` compares."""
    return encoder_name(loaded.engine, loaded.engine_version)


def review_faces_unknown() -> QuerySet[ReviewFace]:
    return ReviewFace.objects.filter(person__isnull=True).order_by("seen_at", "id")


def review_faces_by_ids(*, ids: Iterable[int]) -> list[ReviewFace]:
    """The kept faces with these ids, in the order given; missing ids are left out."""
    wanted = [int(i) for i in ids]
    found = ReviewFace.objects.in_bulk(wanted)
    return [found[i] for i in dict.fromkeys(wanted) if i in found]


def review_grouping_distance() -> float:
    """Faces this close (average linkage) are grouped: from the active model's cut-off."""
    try:
        loaded = active_model()
    except NoActiveModel:  # none trained yet (or unusable): the engine's prior cut-off
        engine = settings.FACE_ENGINE
        return GROUP_SCALE[engine] * openset.PRIORS[engine].threshold
    return GROUP_SCALE[loaded.engine] * float(loaded.calibration.threshold)


def inbox_groups() -> list[InboxGroup]:
    """The unknown faces grouped by similarity, biggest group first (then newest).

    Faces embedded by different encoders are never grouped together.
    """
    newest = list(review_faces_unknown().order_by("-seen_at", "-id")[:INBOX_LIMIT])
    by_encoder: dict[str, list[ReviewFace]] = {}
    for face in sorted(newest, key=lambda face: (face.seen_at, face.pk)):
        by_encoder.setdefault(face.encoder, []).append(face)
    distance = review_grouping_distance() if by_encoder else 0.0
    groups: list[InboxGroup] = []
    for faces in by_encoder.values():
        labels = group_faces(np.stack([face.vector() for face in faces]), distance=distance)
        members: dict[int, list[ReviewFace]] = {}
        for face, label in zip(faces, labels, strict=True):
            members.setdefault(int(label), []).append(face)
        groups.extend(InboxGroup(faces) for faces in members.values())
    return sorted(groups, key=lambda group: (-group.count, -group.last_seen.timestamp()))


def review_negatives(*, person_ids: list[int], encoder: str) -> dict[int, np.ndarray]:
    """Negative examples ("not this person") per person: float32 (m, 128) each."""
    rows = (
        Correction.objects.filter(
            kind=Correction.Kind.NOT_PERSON,
            person_id__in=person_ids,
            encoder=encoder,
        )
        .exclude(data=b"")
        .order_by()
        .values_list("person_id", "data")
    )
    found: dict[int, list[np.ndarray]] = {}
    for person_id, data in rows:
        found.setdefault(person_id, []).append(Embedding.unpack(data))
    return {person_id: np.stack(vectors) for person_id, vectors in found.items()}


def corrections_of(*, identification_ids: Iterable[int]) -> dict[int, list[Correction]]:
    """The corrections made to each identification, oldest first."""
    found: dict[int, list[Correction]] = {}
    rows = (
        Correction.objects.filter(identification_id__in=list(identification_ids))
        .select_related("person", "user")
        .order_by("created_at", "id")
    )
    for correction in rows:
        assert correction.identification_id is not None
        found.setdefault(correction.identification_id, []).append(correction)
    return found


def review_face_crop(*, review_face: ReviewFace) -> PhotoBytes:
    """A small JPEG of a kept face's crop. Raises FileNotFoundError."""
    with review_face.crop.open("rb") as handle:
        content = handle.read()
    return PhotoBytes(content=jpeg_thumbnail(content), content_type="image/jpeg")
