"""Draw identification answers onto a photo (OpenCV): a box and a label per face."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from recognition.images import encode_jpeg

KNOWN = (46, 160, 67)  # RGB green
UNKNOWN = (211, 47, 47)  # RGB red


class Answer(Protocol):
    box: tuple[int, int, int, int]
    name: str | None
    confidence: float


def annotate_jpeg(rgb: np.ndarray, faces: Sequence[Answer]) -> bytes:
    """A JPEG of ``rgb`` (uint8 (h, w, 3)) with each face's box and name (or "unknown")."""
    import cv2  # only needed when an annotated photo is asked for

    canvas = np.ascontiguousarray(rgb.copy())
    height, width = canvas.shape[:2]
    thickness = max(2, round(max(width, height) / 400))
    scale = max(0.5, max(width, height) / 1200)
    for face in faces:
        top, right, bottom, left = face.box
        colour = KNOWN if face.name else UNKNOWN
        cv2.rectangle(canvas, (left, top), (right, bottom), colour, thickness)
        label = f"{face.name} {face.confidence:.0%}" if face.name else "unknown"
        # Hershey fonts are ASCII-only; other characters would print as "?".
        label = label.encode("ascii", "replace").decode()
        (text_w, text_h), baseline = cv2.getTextSize(
            label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness
        )
        y = top - 4 if top - text_h - baseline - 4 > 0 else bottom + text_h + 4
        y = min(y, height - baseline - 1)
        cv2.rectangle(
            canvas, (left, y - text_h - 4), (left + text_w + 4, y + baseline), colour, cv2.FILLED
        )
        cv2.putText(
            canvas,
            label,
            (left + 2, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            thickness,
            cv2.LINE_AA,
        )
    return encode_jpeg(canvas)
