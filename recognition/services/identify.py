"""Identification: a photo in, every face with a person or "unknown" out (+ audit row)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import IO, Any

import numpy as np
from django.conf import settings

from accounts.users import User, user_or_none
from facerecog_site.handwritten_sql import insert_family
from recognition.admission import analysis_slot
from recognition.analysis import Limits, analyze_all_faces
from recognition.annotate import annotate_jpeg, face_crops_jpeg
from recognition.evidence import answer_evidence
from recognition.loading import LoadedModel, ModelLoadError, NoActiveModel, active_model
from recognition.ml import openset
from recognition.ml.engine import EngineUnavailable
from recognition.ml.faces import Box, FoundFace
from recognition.models import Identification, ReviewFace, TrainedModel
from recognition.nearest import Match, nearest_matches
from recognition.review_selectors import encoder_of
from recognition.services.enroll import read_limited
from recognition.services.review import KeptFace, review_crops_discard, review_crops_store
from recognition.storage import is_storage_failure

logger = logging.getLogger(__name__)

__all__ = [
    "FaceAnswer",
    "IdentificationResult",
    "ModelLoadError",
    "NoActiveModel",
    "face_identify",
]


# Why a face is unknown, beyond the model's own reasons (openset.NO_CLOSE_MATCH, ...).
CORRECTED = "corrected"  # a reviewer said a face like this one is not that person
PERSON_DELETED = "person_deleted"  # the person was deleted after the model was trained


@dataclass(frozen=True)
class Candidate:
    person_id: int
    name: str
    distance: float

    def as_dict(self) -> dict[str, Any]:
        return {"person_id": self.person_id, "person": self.name, "distance": self.distance}


@dataclass(frozen=True)
class FaceAnswer:
    """One face of an answer and the evidence for it.

    ``candidates``: the nearest enrolled people, nearest first (up to three);
    ``threshold``: the model's distance cut-off for the nearest one (after corrections);
    ``cutoff``: the largest distance at which the nearest one would have been named;
    ``reason``: why the face is unknown (None when named); ``matched_photos``: the named
    person's enrolled photos nearest to this face; ``review_face_id``: the face kept for
    review (None when FACE_REVIEW_KEEP_DAYS is 0).
    """

    box: Box  # original pixels
    person_id: int | None
    name: str | None  # None = unknown
    # the CNN's probability for the person named; None if unknown, or if the person has
    # fewer than openset.VETO_MIN_PHOTOS photos (the CNN's opinion of them is noise)
    confidence: float | None
    distance: float
    candidates: tuple[Candidate, ...] = ()
    threshold: float = 0.0
    cutoff: float = 0.0
    reason: str | None = None
    matched_photos: tuple[Match, ...] = ()
    review_face_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "box": list(self.box),
            "person": self.name,
            "person_id": self.person_id,
            "confidence": self.confidence,
            "distance": self.distance,
            "reason": self.reason,
            "threshold": self.threshold,
            "cutoff": self.cutoff,
            "candidates": [candidate.as_dict() for candidate in self.candidates],
            "matched_photos": [match.as_dict() for match in self.matched_photos],
            "review_face_id": self.review_face_id,
        }

    def audit_dict(self) -> dict[str, Any]:
        """What the audit trail keeps: the answer, not who else was near."""
        keep = ("box", "person", "person_id", "confidence", "distance", "reason", "cutoff")
        answer = self.as_dict()
        return {**{key: answer[key] for key in keep}, "name": self.name}


@dataclass
class IdentificationResult:
    faces: list[FaceAnswer]
    model: TrainedModel
    record: Identification | None  # None when the request asked not to be audited
    width: int
    height: int
    annotated_jpeg: bytes | None = None
    face_crops: list[bytes] | None = None  # with annotate: a JPEG of each face, same order

    def as_dict(self) -> dict[str, Any]:
        return {
            "faces": [face.as_dict() for face in self.faces],
            "model_id": self.model.pk,
            "identification_id": self.record.pk if self.record else None,
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
    audit: bool = True,
) -> IdentificationResult:
    """Who is in the photo? Every face, left to right, a person or unknown (person None).

    Raises NoActiveModel (ModelLoadError when its file is unusable) and PhotoRejected
    (unreadable_image, too_large). A photo without faces gives ``faces == []``.
    ``distance_threshold`` overrides the calibrated one (settings.FACE_UNKNOWN_DISTANCE
    is the site-wide override). ``audit=False`` leaves no row in the history: for
    measuring the model (``evaluate``), not for answering anyone.
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
    threshold = settings.FACE_UNKNOWN_DISTANCE if distance_threshold is None else distance_threshold
    faces = _answers(loaded, found, threshold=threshold) if found else []
    annotated = crops = None
    if annotate:
        annotated = annotate_jpeg(image.rgb, faces)
        crops = face_crops_jpeg(image.rgb, [face.box for face in faces])
    # Boxes and size in the photo's own pixels, also when it was decoded reduced.
    scale = image.scale
    faces = [replace(face, box=_scaled(face.box, scale)) for face in faces]
    record = kept = None
    if audit:
        # The kept faces' crop files first, then the audit row, its links to the people
        # named and the kept faces, written all or nothing (one statement on PostgreSQL,
        # one commit on SQLite: a commit is a disk flush); if that fails, the files go
        # too. An unaudited answer (evaluate's probes) keeps no faces for review either.
        record, links = _audit(loaded.record, faces, image.sha256, user=user, channel=channel)
        kept = _keep_for_review(image.rgb, found, faces, loaded=loaded, scale=scale)
        try:
            insert_family(record, [*links, *kept], link="identification")
        except BaseException:
            review_crops_discard(kept)
            raise
    if kept:
        faces = [
            replace(answer, review_face_id=row.pk) for answer, row in zip(faces, kept, strict=True)
        ]
    return IdentificationResult(
        faces=faces,
        model=loaded.record,
        record=record,
        width=image.width * scale,
        height=image.height * scale,
        annotated_jpeg=annotated,
        face_crops=crops,
    )


def _keep_for_review(
    rgb: np.ndarray,
    found: list[FoundFace],
    faces: list[FaceAnswer],
    *,
    loaded: LoadedModel,
    scale: int,
) -> list[ReviewFace]:
    """The faces to keep for review, their crops stored; a storage failure costs the
    review, not the answer (review_crops_store then leaves no file)."""
    try:
        # Crops come from the decoded pixels (``found``'s boxes), not the scaled answers.
        return review_crops_store(
            rgb=rgb,
            encoder=encoder_of(loaded),
            scale=scale,
            faces=[
                KeptFace(face.box, face.embedding, answer.person_id, answer.distance)
                for face, answer in zip(found, faces, strict=True)
            ],
        )
    except OSError as exc:
        if not is_storage_failure(exc):
            raise
        logger.warning("faces not kept for review: %s", exc)
        return []


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


def _answers(
    loaded: LoadedModel, found: list[FoundFace], *, threshold: float | None
) -> list[FaceAnswer]:
    """Decide every face, veto corrected ones, and gather the evidence shown with it."""
    vectors = np.stack([face.embedding for face in found])
    decisions = openset.decide(
        loaded.classifier.probabilities(vectors),
        vectors,
        loaded.classifier.centroids,
        loaded.calibration,
        threshold=threshold,
        class_limits=_class_limits(loaded),
        class_photos=loaded.class_photos,
    )
    evidence = answer_evidence(
        near={int(loaded.person_ids[i]) for d in decisions for i, _ in d.candidates},
        named={int(loaded.person_ids[d.index]) for d in decisions if d.index is not None},
        encoder=encoder_of(loaded),
    )
    # People deleted since the model was trained are never named nor shown: unknown.
    live, negatives = evidence.names, evidence.negatives
    answers = []
    for face, decision in zip(found, decisions, strict=True):
        person_id = int(loaded.person_ids[decision.index]) if decision.index is not None else None
        reason = decision.reason
        if person_id is not None and person_id not in live:
            person_id, reason = None, PERSON_DELETED
        if person_id is not None and openset.corrected(
            face.embedding, decision.distance, negatives.get(person_id, np.zeros((0, 0)))
        ):
            person_id, reason = None, CORRECTED
        matched: tuple[Match, ...] = ()
        if person_id is not None and person_id in evidence.photos:
            photo_ids, vectors = evidence.photos[person_id]
            matched = tuple(
                nearest_matches(
                    embedding=face.embedding,
                    person_id=person_id,
                    photo_ids=photo_ids,
                    vectors=vectors,
                )
            )
        candidates = tuple(
            Candidate(int(loaded.person_ids[i]), live[int(loaded.person_ids[i])], round(d, 4))
            for i, d in decision.candidates
            if int(loaded.person_ids[i]) in live
        )
        answers.append(
            FaceAnswer(
                box=face.box,
                person_id=person_id,
                name=live[person_id] if person_id is not None else None,
                confidence=(
                    round(decision.confidence, 4)
                    if person_id is not None and decision.classifier_counts
                    else None
                ),
                distance=round(decision.distance, 4),
                candidates=candidates,
                threshold=round(decision.threshold, 4),
                cutoff=round(decision.cutoff, 4),
                reason=reason,
                matched_photos=matched,
            )
        )
    return answers


def _class_limits(loaded: LoadedModel) -> np.ndarray | None:
    """Per-class limits the training tightened after corrections (None: none did)."""
    limits: dict[str, float] = (loaded.record.metrics or {}).get("person_limits") or {}
    if not limits:
        return None
    return np.array(
        [float(limits.get(str(int(p)), np.inf)) for p in loaded.person_ids], dtype=np.float64
    )


def _audit(
    model: TrainedModel, faces: list[FaceAnswer], sha256: str, *, user: User, channel: str
) -> tuple[Identification, list[Any]]:
    """The audit row and its links to the people named, not saved yet (the caller writes
    them whole or not at all)."""
    known = [face.person_id for face in faces if face.person_id is not None]
    record = Identification(
        user=user_or_none(user),
        channel=channel[:32],
        model=model,
        image_sha256=sha256,
        face_count=len(faces),
        known_count=len(known),
        results=[face.audit_dict() for face in faces],
    )
    links = Identification.people.through
    return record, [links(person_id=p) for p in sorted(set(known))]
