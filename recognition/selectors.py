"""Reads for models, training jobs, the gallery and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from people.models import FaceImage, Person
from recognition.models import Embedding, Identification, TrainedModel


def model_active() -> TrainedModel | None:
    return TrainedModel.objects.filter(is_active=True).first()


def model_gallery_read_at(*, model: TrainedModel | None) -> datetime | None:
    """When ``model`` read the gallery: photos uploaded up to then are part of it."""
    return (model.started_at or model.requested_at) if model else None


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
    from recognition.services.train import current_fingerprint

    if model is None or model.status != TrainedModel.Status.SUCCEEDED:
        return True
    trained_on: Any = (model.metrics or {}).get("gallery_fingerprint")
    return trained_on != current_fingerprint()


def gallery_stats() -> dict[str, int]:
    return {
        "people": Person.objects.count(),
        "photos": FaceImage.objects.count(),
        "embeddings": Embedding.objects.count(),
    }


def identification_list() -> QuerySet[Identification]:
    return (
        Identification.objects.select_related("user", "model")
        .prefetch_related("people")
        .order_by("-created_at", "-id")
    )
