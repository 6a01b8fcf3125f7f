"""Identification: a photo in, every face with a person or "unknown" out (+ audit row)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import IO, Any

import numpy as np
from django.conf import settings
from django.db import transaction

from accounts.users import User, user_or_none
from people.models import Person
from recognition.admission import analysis_slot
from recognition.analysis import Limits, analyze_all_faces
from recognition.annotate import annotate_jpeg
from recognition.loading import LoadedModel, ModelLoadError, NoActiveModel, active_model
from recognition.ml import openset
from recognition.ml.engine import EngineUnavailable
from recognition.ml.faces import Box
from recognition.models import Identification, TrainedModel
from recognition.services.enroll import read_limited

__all__ = [
    "FaceAnswer",
    "IdentificationResult",
    "ModelLoadError",
    "NoActiveModel",
    "face_identify",
]


@dataclass(frozen=True)
class FaceAnswer:
    box: Box  # original pixels
    person_id: int | None
    name: str | None  # None = unknown
    confidence: float | None  # the CNN's probability for the person named; None if unknown
    distance: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "box": list(self.box),
            "person": self.name,
            "person_id": self.person_id,
            "confidence": self.confidence,
            "distance": self.distance,
        }


@dataclass
class IdentificationResult:
    faces: list[FaceAnswer]
    model: TrainedModel
    record: Identification
    width: int
    height: int
    annotated_jpeg: bytes | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "faces": [face.as_dict() for face in self.faces],
            "model_id": self.model.pk,
            "identification_id": self.record.pk,
            "width": self.width,
            "height": self.height,
        }


def face_identify(
    *,
    source: bytes | IO[bytes],
    name: str,
    user: User = None,
    channel: str = "api",
    distance_threshold: float | None = None,
    annotate: bool = False,
) -> IdentificationResult:
    """Who is in the photo? Every face, left to right, a person or unknown (person None).

    Raises NoActiveModel (ModelLoadError when its file is unusable) and PhotoRejected
    (unreadable_image, too_large). A photo without faces gives ``faces == []``.
    ``distance_threshold`` overrides the calibrated one (settings.FACE_UNKNOWN_DISTANCE
    is the site-wide override).
    """
    loaded = active_model()  # before decoding: no model, no work
    # Faces are embedded with the engine the model was trained on, whatever FACE_ENGINE
    # says now: vectors of another engine would be compared with the wrong centroids.
    limits = Limits.from_settings(engine=loaded.engine)
    data = read_limited(source, name=name, max_bytes=limits.max_bytes)
    _check_engine(loaded, limits)
    with analysis_slot():  # bounded wait for a core, else Overloaded (503)
        image, found = analyze_all_faces(data, name=name, limits=limits)
    found = sorted(found, key=lambda face: face.box[3])
    faces: list[FaceAnswer] = []
    if found:
        vectors = np.stack([face.embedding for face in found])
        threshold = distance_threshold
        if threshold is None:
            threshold = settings.FACE_UNKNOWN_DISTANCE
        decisions = openset.decide(
            loaded.classifier.probabilities(vectors),
            vectors,
            loaded.classifier.centroids,
            loaded.calibration,
            threshold=threshold,
        )
        candidates = {int(loaded.person_ids[d.index]) for d in decisions if d.index is not None}
        # People deleted since the model was trained are never named: their face is unknown.
        live = dict(Person.objects.filter(pk__in=candidates).values_list("pk", "name"))
        for face, decision in zip(found, decisions, strict=True):
            person_id = (
                int(loaded.person_ids[decision.index]) if decision.index is not None else None
            )
            if person_id not in live:
                person_id = None
            faces.append(
                FaceAnswer(
                    box=face.box,
                    person_id=person_id,
                    name=live.get(person_id) if person_id is not None else None,
                    confidence=round(decision.confidence, 4) if person_id is not None else None,
                    distance=round(decision.distance, 4),
                )
            )
    annotated = None
    if annotate:
        annotated = annotate_jpeg(image.rgb, faces)
    # Boxes and size in the photo's own pixels, also when it was decoded reduced.
    scale = image.scale
    faces = [replace(face, box=_scaled(face.box, scale)) for face in faces]
    record = _audit(loaded.record, faces, image.sha256, user=user, channel=channel)
    return IdentificationResult(
        faces=faces,
        model=loaded.record,
        record=record,
        width=image.width * scale,
        height=image.height * scale,
        annotated_jpeg=annotated,
    )


def _scaled(box: tuple[int, int, int, int], scale: int) -> tuple[int, int, int, int]:
    top, right, bottom, left = box
    return (top * scale, right * scale, bottom * scale, left * scale)


def _check_engine(loaded: LoadedModel, limits: Limits) -> None:
    """ModelLoadError unless this installation computes the model's kind of embeddings."""
    try:
        engine = limits.face_engine()
    except EngineUnavailable as exc:
        raise ModelLoadError(
            f"model #{loaded.record.pk} needs the {loaded.engine} face engine, which cannot "
            f"run: {exc}"
        ) from exc
    if loaded.engine_version and engine.version != loaded.engine_version:
        raise ModelLoadError(
            f"model #{loaded.record.pk} was trained on {loaded.engine} embeddings "
            f"({loaded.engine_version}); this installation computes {engine.version}. "
            "Run `python manage.py reembed` to embed every photo again and train."
        )


def _audit(
    model: TrainedModel, faces: list[FaceAnswer], sha256: str, *, user: User, channel: str
) -> Identification:
    """The audit row and its links to the people named, written whole or not at all."""
    known = [face.person_id for face in faces if face.person_id is not None]
    with transaction.atomic():
        record = Identification.objects.create(
            user=user_or_none(user),
            channel=channel[:32],
            model=model,
            image_sha256=sha256,
            face_count=len(faces),
            known_count=len(known),
            results=[{**face.as_dict(), "name": face.name} for face in faces],
        )
        if known:
            record.people.set(sorted(set(known)))
    return record
