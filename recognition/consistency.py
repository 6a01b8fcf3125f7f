"""Reads: does a photo fit the person it is enrolled for? (see recognition/ml/consistency)

Judged live against the gallery as it is now (so a warning disappears once the photo
is moved or the gallery grows), never stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from people.models import Person
from recognition.ml import consistency
from recognition.models import Embedding

UNLIKE_PERSON = consistency.UNLIKE_PERSON
LOOKS_LIKE = consistency.LOOKS_LIKE


@dataclass(frozen=True)
class GalleryWarning:
    """Why an enrolled photo may not belong to its person (it was enrolled anyway)."""

    code: str  # unlike_person | looks_like
    detail: str
    distance: float | None  # to the person's other photos (their centroid)
    looks_like_id: int | None = None
    looks_like_name: str | None = None
    looks_like_distance: float | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "detail": self.detail}
        data["distance"] = self.distance
        if self.code == LOOKS_LIKE:
            data["looks_like"] = {
                "id": self.looks_like_id,
                "name": self.looks_like_name,
                "distance": self.looks_like_distance,
            }
        return data


@dataclass(frozen=True)
class _Gallery:
    face_ids: np.ndarray  # int64 (n,)
    person_ids: list[int]  # class index -> person id
    embeddings: np.ndarray  # float32 (n, d)
    labels: np.ndarray  # int64 (n,)


def _gallery_load() -> _Gallery:
    rows = list(
        Embedding.objects.order_by("id").values_list(
            "face_image_id", "face_image__person_id", "data"
        )
    )
    person_ids = sorted({person_id for _face, person_id, _data in rows})
    index = {person_id: i for i, person_id in enumerate(person_ids)}
    vectors = [Embedding.unpack(data) for _f, _p, data in rows]
    dimension = len(vectors[0]) if vectors else 1
    return _Gallery(
        face_ids=np.array([face for face, _p, _d in rows], dtype=np.int64),
        person_ids=person_ids,
        embeddings=np.array(vectors, dtype=np.float32).reshape(-1, dimension),
        labels=np.array([index[p] for _f, p, _d in rows], dtype=np.int64),
    )


def _class_of(gallery: _Gallery, person_id: int) -> int:
    try:
        return gallery.person_ids.index(person_id)
    except ValueError:
        return len(gallery.person_ids)  # a person with no photo yet: a class of their own


def _warning(
    verdict: consistency.Verdict, gallery: _Gallery, person: Person
) -> GalleryWarning | None:
    if verdict.code == LOOKS_LIKE and verdict.other is not None:
        other_id = gallery.person_ids[verdict.other]
        other_name = Person.objects.filter(pk=other_id).values_list("name", flat=True).first()
        return GalleryWarning(
            code=LOOKS_LIKE,
            detail=(
                f"This face looks like {other_name} (#{other_id}), more than like "
                f"{person.name}'s other photos: check it is a photo of {person.name}."
            ),
            distance=verdict.own_distance,
            looks_like_id=other_id,
            looks_like_name=other_name,
            looks_like_distance=verdict.other_distance,
        )
    if verdict.code == UNLIKE_PERSON:
        return GalleryWarning(
            code=UNLIKE_PERSON,
            detail=(
                f"This face is far from {person.name}'s other photos (further than photos "
                "of one person in this gallery usually are): check it is them, and a clear photo."
            ),
            distance=verdict.own_distance,
        )
    return None


def photo_gallery_warning(
    *, person: Person, vector: np.ndarray, exclude_face_id: int | None = None
) -> GalleryWarning | None:
    """How a face ``vector`` (d,) enrolled (or about to be) for ``person`` fits the
    gallery, leaving out its own row ``exclude_face_id``."""
    gallery = _gallery_load()
    keep = gallery.face_ids != (exclude_face_id if exclude_face_id is not None else -1)
    embeddings, labels = gallery.embeddings[keep], gallery.labels[keep]
    limits = consistency.gallery_limits(embeddings, labels)
    verdict = consistency.judge(
        vector, embeddings, labels, own=_class_of(gallery, person.pk), limits=limits
    )
    return _warning(verdict, gallery, person)


LIMITS_CACHE_SECONDS = 3600


def _limits_cached(gallery: _Gallery) -> consistency.Limits | None:
    """The gallery's limits, computed once per gallery state (a person page is viewed far
    more often than the gallery changes; 1 s at 20,000 photos)."""
    from django.core.cache import cache

    ids = gallery.face_ids
    if len(ids) == 0:
        return None
    # Which photos, under whom: a merge moves photos without changing their ids.
    owners = np.asarray(gallery.person_ids, dtype=np.int64)[gallery.labels]
    digest = hashlib.sha256(np.concatenate([ids, owners]).tobytes()).hexdigest()
    key = f"consistency-limits:{digest}"
    cached = cache.get(key)
    if cached is not None:
        return consistency.Limits(**cached) if cached else None
    limits = consistency.gallery_limits(gallery.embeddings, gallery.labels)
    cache.set(key, asdict(limits) if limits else {}, LIMITS_CACHE_SECONDS)
    return limits


def person_photo_warnings(*, person: Person) -> dict[int, GalleryWarning]:
    """Face image id -> warning, for each of ``person``'s photos that does not fit."""
    gallery = _gallery_load()
    own = _class_of(gallery, person.pk)
    members = np.flatnonzero(gallery.labels == own)
    if len(members) == 0:
        return {}
    # One photo more or less does not move the gallery's limits: compute them once.
    limits = _limits_cached(gallery)
    vectors = gallery.embeddings.astype(np.float64)
    sums = np.zeros((len(gallery.person_ids), vectors.shape[1]))
    np.add.at(sums, gallery.labels, vectors)
    counts = np.bincount(gallery.labels, minlength=len(gallery.person_ids))
    warnings = {}
    for member in members:
        # The gallery without this photo: its person's sum and count less it.
        own_sums, own_counts = sums.copy(), counts.copy()
        own_sums[own] -= vectors[member]
        own_counts[own] -= 1
        verdict = consistency.judge_sums(
            vectors[member], own_sums, own_counts, own=own, limits=limits
        )
        warning = _warning(verdict, gallery, person)
        if warning is not None:
            warnings[int(gallery.face_ids[member])] = warning
    return warnings


class GalleryCheck:
    """The gallery, loaded once, to judge each photo of a batch as it is enrolled.

    Keeps per-person sums and counts up to date as photos are added, so a batch of n
    photos costs one gallery load and n small comparisons. Each photo is judged against
    the photos enrolled before it; the limits are recomputed whenever the gallery has
    doubled since they were (a first ``enroll_folder`` run starts from nothing).
    """

    def __init__(self) -> None:
        gallery = _gallery_load()
        self._index = {person_id: i for i, person_id in enumerate(gallery.person_ids)}
        self._person_ids = list(gallery.person_ids)
        self._face_ids = {int(face_id): i for i, face_id in enumerate(gallery.face_ids)}
        self._vectors = gallery.embeddings.astype(np.float64)
        self._labels = gallery.labels
        k, d = len(self._person_ids), gallery.embeddings.shape[1]
        self._sums = np.zeros((k, d))
        np.add.at(self._sums, gallery.labels, self._vectors)
        self._counts = np.bincount(gallery.labels, minlength=k).astype(np.int64)
        self._added: list[tuple[int, np.ndarray]] = []  # (class, vector) since loading
        self._limits = consistency.gallery_limits(gallery.embeddings, gallery.labels)
        self._limits_size = len(gallery.labels)

    def _current_limits(self) -> consistency.Limits | None:
        size = len(self._labels) + len(self._added)
        if self._limits is not None and size < 2 * max(self._limits_size, 1):
            return self._limits
        if self._added:
            width = self._sums.shape[1]
            added = np.array([vector for _, vector in self._added]).reshape(-1, width)
            vectors = np.vstack([self._vectors.reshape(-1, width), added])
            labels = np.concatenate([self._labels, [label for label, _ in self._added]])
        else:
            vectors, labels = self._vectors, self._labels
        self._limits = consistency.gallery_limits(vectors, labels.astype(np.int64))
        self._limits_size = size
        return self._limits

    def _class(self, person_id: int) -> int:
        if person_id not in self._index:
            self._index[person_id] = len(self._person_ids)
            self._person_ids.append(person_id)
            self._sums = np.vstack([self._sums, np.zeros((1, self._sums.shape[1]))])
            self._counts = np.append(self._counts, 0)
        return self._index[person_id]

    def check(self, *, person: Person, face_id: int, vector: np.ndarray) -> GalleryWarning | None:
        """Judge a stored photo against everything else, then count it in."""
        v = np.asarray(vector, dtype=np.float64)
        if self._sums.shape[1] != len(v):  # an empty gallery: its width was unknown
            self._sums = np.zeros((len(self._person_ids), len(v)))
        own = self._class(person.pk)
        sums, counts = self._sums.copy(), self._counts.copy()
        if face_id in self._face_ids:  # loaded with the gallery: leave it out
            position = self._face_ids[face_id]
            sums[self._labels[position]] -= self._vectors[position]
            counts[self._labels[position]] -= 1
        limits = self._current_limits()
        verdict = consistency.judge_sums(v, sums, counts, own=own, limits=limits)
        if face_id not in self._face_ids:
            self._sums[own] += v
            self._counts[own] += 1
            self._added.append((own, v))
        gallery = _Gallery(
            face_ids=np.zeros(0, dtype=np.int64),
            person_ids=self._person_ids,
            embeddings=np.zeros((0, len(v)), dtype=np.float32),
            labels=np.zeros(0, dtype=np.int64),
        )
        return _warning(verdict, gallery, person)
