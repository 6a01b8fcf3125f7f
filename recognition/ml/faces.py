"""Find faces and compute their 128-d embeddings (face_recognition / dlib).

Pure: numpy arrays in, numpy arrays and tuples out; no Django.

Detection runs the HOG detector on a resized copy whose longer side is
``scan_side`` pixels at most (and at most twice the original, which is what HOG
upsampling by one would scan on a small photo). Boxes are mapped back to the
original image; encodings are computed on the original pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Box = tuple[int, int, int, int]  # (top, right, bottom, left), pixels
EMBEDDING_DIM = 128  # what the dlib ResNet encoder produces

ENCODER_NAME = "dlib_resnet_v1/5pt"
MAX_UPSCALE = 2.0


def _face_recognition() -> Any:
    # Imported lazily: dlib loads ~100 MB of models, which the web master process and
    # management commands that never look at a face should not pay for.
    import face_recognition
    from PIL import ImageFile

    # face_recognition turns truncated-image loading on for the whole process; we
    # decode strictly (see recognition.images), so switch it back.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return face_recognition


@dataclass(frozen=True)
class FoundFace:
    """A detected face: its box in original-image pixels and its embedding.

    ``embedding`` is float32 of shape (128,).
    """

    box: Box
    embedding: np.ndarray


def box_area(box: Box) -> int:
    top, right, bottom, left = box
    return max(0, right - left) * max(0, bottom - top)


def detection_scale(width: int, height: int, scan_side: int) -> float:
    """Factor applied to the original before the HOG scan."""
    longer = max(width, height, 1)
    return min(MAX_UPSCALE, scan_side / longer)


def detect(rgb: np.ndarray, *, scan_side: int) -> list[Box]:
    """Boxes of all faces in ``rgb`` (uint8 (h, w, 3)), in its own pixel coordinates."""
    import cv2  # lazily, kept out of start-up; its resize is much faster than Pillow's here

    height, width = rgb.shape[:2]
    scale = detection_scale(width, height, scan_side)
    if abs(scale - 1.0) < 1e-3:
        scan = rgb
    else:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        scan = cv2.resize(rgb, size, interpolation=interpolation)
    found = _face_recognition().face_locations(scan, number_of_times_to_upsample=0, model="hog")
    boxes = []
    for top, right, bottom, left in found:
        box = (
            _clip(round(top / scale), height),
            _clip(round(right / scale), width),
            _clip(round(bottom / scale), height),
            _clip(round(left / scale), width),
        )
        if box_area(box) > 0:
            boxes.append(box)
    return boxes


def encode(rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """Embeddings of the faces at ``boxes`` in ``rgb``: float32 of shape (len(boxes), 128)."""
    if not boxes:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    vectors = _face_recognition().face_encodings(rgb, known_face_locations=list(boxes))
    return np.asarray(vectors, dtype=np.float32).reshape(len(boxes), EMBEDDING_DIM)


def find_faces(rgb: np.ndarray, *, scan_side: int) -> list[FoundFace]:
    """Detect and encode every face, largest first."""
    boxes = sorted(detect(rgb, scan_side=scan_side), key=box_area, reverse=True)
    vectors = encode(rgb, boxes)
    return [FoundFace(box=box, embedding=vectors[i]) for i, box in enumerate(boxes)]


def _clip(value: int, limit: int) -> int:
    return max(0, min(int(value), limit))
