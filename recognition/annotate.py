"""Draw identification answers onto a photo (OpenCV): a box and a label per face."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from recognition.images import encode_jpeg

KNOWN = (46, 160, 67)  # RGB green
UNKNOWN = (211, 47, 47)  # RGB red


class Answer(Protocol):
    @property
    def box(self) -> tuple[int, int, int, int]: ...
    @property
    def name(self) -> str | None: ...
    @property
    def confidence(self) -> float | None: ...


MIN_SIDE = 640  # small photos are enlarged for display so labels stay readable


def annotate_jpeg(rgb: np.ndarray, faces: Sequence[Answer]) -> bytes:
    """A JPEG of ``rgb`` (uint8 (h, w, 3)) with each face's box and name (or "unknown").

    Photos shorter than MIN_SIDE on their longer side are enlarged (whole factor) first.
    """
    import cv2  # only needed when an annotated photo is asked for

    height, width = rgb.shape[:2]
    factor = max(1, MIN_SIDE // max(width, height, 1))
    if factor > 1:
        canvas = cv2.resize(rgb, (width * factor, height * factor), interpolation=cv2.INTER_CUBIC)
    else:
        canvas = np.ascontiguousarray(rgb.copy())
    height, width = canvas.shape[:2]
    thickness = max(2, round(max(width, height) / 400))
    for face in faces:
        top, right, bottom, left = (value * factor for value in face.box)
        colour = KNOWN if face.name else UNKNOWN
        cv2.rectangle(canvas, (left, top), (right, bottom), colour, thickness)
        label = f"{face.name} {face.confidence or 0:.0%}" if face.name else "unknown"
        # Hershey fonts are ASCII-only; other characters would print as "?".
        label = label.encode("ascii", "replace").decode()
        _draw_label(canvas, label, (top, right, bottom, left), colour, thickness)
    return encode_jpeg(canvas)


def _draw_label(
    canvas: np.ndarray,
    label: str,
    box: tuple[int, int, int, int],
    colour: tuple[int, int, int],
    thickness: int,
) -> None:
    """A filled label above the box (below it at the top edge), kept inside the photo."""
    import cv2  # lazily, as in annotate_jpeg

    height, width = canvas.shape[:2]
    top, _right, bottom, left = box
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(0.5, max(width, height) / 1200)
    text_thickness = max(1, thickness - 1)
    (text_w, text_h), baseline = cv2.getTextSize(label, font, scale, text_thickness)
    while text_w + 6 > width and scale > 0.3:
        scale -= 0.05
        (text_w, text_h), baseline = cv2.getTextSize(label, font, scale, text_thickness)
    x = max(0, min(left, width - text_w - 6))
    y = top - 4 if top - text_h - baseline - 4 > 0 else bottom + text_h + 4
    y = min(y, height - baseline - 1)
    cv2.rectangle(canvas, (x, y - text_h - 4), (x + text_w + 4, y + baseline), colour, cv2.FILLED)
    cv2.putText(
        canvas, label, (x + 2, y), font, scale, (255, 255, 255), text_thickness, cv2.LINE_AA
    )
