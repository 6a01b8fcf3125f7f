"""Shared helpers for training/identification tests: real photos, analysed once per session.

Enrolling analyses each photo with the face engine (~0.02-1 s); the analyses are cached for the
session and stored per test through the real storing service. Trainings are memoised on
their exact inputs (the trainer is a pure, seeded function), so tests that only need *a*
trained model of a gallery already trained by another test do not train again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings

from people.models import FaceImage, Person
from people.services import person_create
from recognition.analysis import EnrollmentAnalysis, Limits, analyze_enrollment
from recognition.ml import classifier as ml_classifier
from recognition.models import Embedding, TrainedModel
from recognition.services.enroll import face_image_store
from recognition.services.train import model_train, model_train_request

_analyses: dict[tuple[Path, str], EnrollmentAnalysis] = {}
_trainings: dict[str, ml_classifier.TrainResult] = {}
_real_train = ml_classifier.train


def analysis_of(path: Path) -> EnrollmentAnalysis:
    limits = Limits.from_settings()
    key = (path, limits.engine)  # tests may switch FACE_ENGINE
    if key not in _analyses:
        _analyses[key] = analyze_enrollment(path.read_bytes(), name=path.name, limits=limits)
    return _analyses[key]


def enroll(name: str, photos: list[Path]) -> Person:
    person = person_create(name=name)
    for path in photos:
        face_image_store(person=person, analysis=analysis_of(path), name=path.name)
    return person


def memo_train(embeddings: np.ndarray, labels: np.ndarray, **kwargs: Any) -> Any:
    key = hashlib.sha256(
        np.ascontiguousarray(embeddings).tobytes()
        + np.ascontiguousarray(labels).tobytes()
        + repr(sorted((k, v) for k, v in kwargs.items() if k != "progress")).encode()
    ).hexdigest()
    if key not in _trainings:
        _trainings[key] = _real_train(embeddings, labels, **kwargs)
    progress = kwargs.get("progress")
    if progress is not None:  # the real trainer's last report: done == planned
        progress(_trainings[key].epochs_run, _trainings[key].epochs_run)
    return _trainings[key]


def placeholder_gallery() -> None:
    """Two people with two random embeddings each (no photo files): enough for a training
    to be *requested*. For tests of the job plumbing only, never of recognition."""
    rng = np.random.default_rng(0)
    for p in range(2):
        person = Person.objects.create(name=f"Placeholder {p}")
        for i in range(2):
            face = FaceImage.objects.create(
                person=person,
                image=f"faces/placeholder-{p}-{i}.jpg",
                sha256=f"{p}{i}".ljust(64, "0"),
                width=100,
                height=100,
                box_top=10,
                box_right=90,
                box_bottom=90,
                box_left=10,
            )
            vector = rng.normal(size=128).astype(np.float32)
            Embedding.objects.create(
                face_image=face,
                data=Embedding.pack(vector),
                engine=settings.FACE_ENGINE,
                engine_version="placeholder",
            )


@pytest.fixture
def cached_training(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ml_classifier, "train", memo_train)


def train_now() -> TrainedModel:
    """Request and run a training in this process (as the task would)."""
    job = model_train_request(enqueue=False)
    return model_train(model_id=job.pk)


@pytest.fixture
def gallery(dev_photos: Callable[[str], list[Path]]) -> dict[str, Person]:
    """Five dev people enrolled with their first five photos."""
    return {name: enroll(name.replace("_", " "), dev_photos(name)[:5]) for name in GALLERY}


GALLERY = ["Arnold_Schwarzenegger", "Gordon_Brown", "Jennifer_Lopez", "Kim_Clijsters", "Tom_Cruise"]
STRANGER = "Muhammad_Ali"
# Photos on which both engines find exactly one face. YuNet (opencv) also finds the
# bystanders cut off at the edge of some LFW crops, which dlib's HOG misses:
# Tom_Cruise_0007, Gordon_Brown_0007 (index 6) and Muhammad_Ali_0002 (index 1) have two.
UNSEEN = 8  # an unseen photo of each GALLERY person (the gallery holds the first five)
STRANGER_PHOTOS = slice(2, 5)


def alone(stranger_photos: list[Path]) -> list[Path]:
    """Two photos of STRANGER in which he is the only face (the opencv engine also finds
    the people behind him in Muhammad_Ali_0002 and _0009)."""
    return [stranger_photos[0], stranger_photos[2]]
