"""Reads for the gallery (embeddings and their fingerprint), models, jobs, the audit trail."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from people.models import FaceImage, Person
from recognition.ml.faces import EMBEDDING_DIM
from recognition.models import Embedding, Identification, TrainedModel


@dataclass(frozen=True)
class Gallery:
    """Enrolled embeddings: ``embeddings`` float32 (n, 128), ``labels`` int64 (n,),
    ``photo_ids`` int64 (n,): the FaceImage each embedding was computed from.

    ``spaces``: (engine, version, count) of the embeddings, most common first; a usable
    gallery has one, whose engine and version are ``engine`` / ``engine_version``.
    """

    embeddings: np.ndarray
    labels: np.ndarray
    label_map: dict[str, dict[str, Any]]
    fingerprint: str
    photo_ids: np.ndarray
    spaces: list[tuple[str, str, int]]
    engine: str
    engine_version: str


def gallery_fingerprint(embedding_ids: list[int]) -> str:
    """Identifies the set of embeddings a model saw (any photo added or removed changes it)."""
    joined = ",".join(str(i) for i in sorted(embedding_ids))
    return hashlib.sha256(joined.encode()).hexdigest()


def gallery_fingerprint_current() -> str:
    """The fingerprint of the gallery as it is now."""
    return gallery_fingerprint(list(Embedding.objects.values_list("id", flat=True)))


def gallery_spaces() -> list[tuple[str, str, int]]:
    """(engine, version, count) of the stored embeddings, most common first."""
    rows = (
        Embedding.objects.values_list("engine", "engine_version")
        .annotate(count=Count("id"))
        .order_by("-count", "engine", "engine_version")
    )
    return [(engine, version, count) for engine, version, count in rows]


def gallery_load() -> Gallery:
    """Every enrolled embedding, one class per person (ordered by person id).

    The engine is FACE_ENGINE's when the gallery is empty.
    """
    spaces = gallery_spaces()
    engine, version = (spaces[0][0], spaces[0][1]) if spaces else (settings.FACE_ENGINE, "")
    rows = Embedding.objects.order_by("face_image__person_id", "id").values_list(
        "id", "data", "face_image__person_id", "face_image__person__name", "face_image_id"
    )
    ids, vectors, person_ids, names, photo_ids = [], [], [], {}, []
    for embedding_id, data, person_id, name, photo_id in rows:
        ids.append(embedding_id)
        photo_ids.append(photo_id)
        vectors.append(Embedding.unpack(data))
        person_ids.append(person_id)
        names[person_id] = name
    order = sorted(names)
    index = {person_id: i for i, person_id in enumerate(order)}
    photos = Counter(person_ids)
    return Gallery(
        embeddings=np.array(vectors, dtype=np.float32).reshape(-1, EMBEDDING_DIM),
        labels=np.array([index[p] for p in person_ids], dtype=np.int64),
        label_map={
            str(i): {"person_id": p, "name": names[p], "photos": photos[p]}
            for i, p in enumerate(order)
        },
        fingerprint=gallery_fingerprint(ids),
        photo_ids=np.array(photo_ids, dtype=np.int64),
        spaces=spaces,
        engine=engine,
        engine_version=version,
    )


def model_active() -> TrainedModel | None:
    return TrainedModel.objects.filter(is_active=True).first()


def model_active_key() -> tuple[int, str] | None:
    """The active model's (id, file), without reading its label map and metrics: those
    grow with the number of people (hundreds of kB of JSON at 10,000), and identification
    asks this on every request."""
    # No ORDER BY (first() would add one): at most one model is active.
    rows = TrainedModel.objects.filter(is_active=True).order_by().values_list("pk", "file")[:1]
    return rows[0] if rows else None


def model_gallery_read_at(*, model: TrainedModel | None) -> datetime | None:
    """When ``model`` read the gallery: photos uploaded up to then are part of it."""
    return (model.started_at or model.requested_at) if model else None


def face_image_in_model(*, face_image: FaceImage, gallery_read_at: datetime | None) -> bool:
    """Whether the photo is part of the model that read the gallery at ``gallery_read_at``.

    Training reads every embedding, so a photo is in the model iff its embedding existed
    then (a photo re-embedded with another engine waits for the next training; one
    without an embedding, which that engine found no usable face in, is in no model).
    Select or prefetch ``embedding`` with the photos.
    """
    embedding = getattr(face_image, "embedding", None)  # None when it has no embedding
    return (
        gallery_read_at is not None
        and embedding is not None
        and embedding.created_at <= gallery_read_at
    )


def model_list() -> QuerySet[TrainedModel]:
    return TrainedModel.objects.select_related("requested_by").order_by("-requested_at", "-id")


def model_training_current() -> TrainedModel | None:
    """The queued or running training job, if any."""
    return (
        TrainedModel.objects.filter(
            status__in=[TrainedModel.Status.QUEUED, TrainedModel.Status.RUNNING]
        )
        .order_by("id")
        .first()
    )


def model_is_stale(*, model: TrainedModel | None) -> bool:
    """True when people or photos changed since ``model`` trained (or there is no model)."""
    if model is None or model.status != TrainedModel.Status.SUCCEEDED:
        return True
    trained_on: Any = (model.metrics or {}).get("gallery_fingerprint")
    return trained_on != gallery_fingerprint_current()


def gallery_stats() -> dict[str, int]:
    return {
        "people": Person.objects.count(),
        "photos": FaceImage.objects.count(),
        "embeddings": Embedding.objects.count(),
    }


MIN_PEOPLE_TO_TRAIN = 2
MIN_PHOTOS_PER_PERSON = 2


def training_blocker_message(*, people: int, ready: int) -> str:
    """Why a gallery of ``people`` (``ready`` with two photos or more) cannot be trained."""
    return (
        "Training needs at least two people with at least two photos each; "
        f"the gallery has {people} {'person' if people == 1 else 'people'}, "
        f"{ready} of them with two or more photos."
    )


def gallery_training_blocker() -> str | None:
    """Why a training cannot run on the gallery as it is now, or None when it can."""
    per_person = (
        Embedding.objects.values("face_image__person_id")
        .annotate(photos=Count("id"))
        .values_list("photos", flat=True)
    )
    counts = list(per_person)
    ready = sum(count >= MIN_PHOTOS_PER_PERSON for count in counts)
    if ready >= MIN_PEOPLE_TO_TRAIN:
        return None
    return training_blocker_message(people=len(counts), ready=ready)


def identification_list(
    *,
    person_id: int | None = None,
    unknown_only: bool = False,
    channel: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[Identification]:
    """The audit trail, newest first, optionally narrowed.

    ``person_id``: someone was named; ``unknown_only``: at least one face was unknown;
    ``channel``: "web", "api" (with its per-token "api-token:<id>"), "cli", ...;
    ``since``/``until``: calendar days (inclusive) in the site's time zone.
    """
    queryset = Identification.objects.select_related("user", "model").prefetch_related(
        "people", "corrections__person", "corrections__user"
    )
    if person_id is not None:
        queryset = queryset.filter(people__id=person_id)
    if unknown_only:
        queryset = queryset.filter(face_count__gt=F("known_count"))
    if channel:
        queryset = queryset.filter(Q(channel=channel) | Q(channel__startswith=f"{channel}-"))
    if since is not None:
        queryset = queryset.filter(created_at__gte=_day_start(since))
    if until is not None:
        queryset = queryset.filter(created_at__lt=_day_start(until + timedelta(days=1)))
    return queryset.order_by("-created_at", "-id")


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def identification_channels() -> list[str]:
    """The channels the history holds, per-token API channels folded into "api"."""
    values = Identification.objects.values_list("channel", flat=True).distinct()
    return sorted({value.split("-token:")[0] for value in values})
