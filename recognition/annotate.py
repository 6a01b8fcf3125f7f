"""Draw identification answers onto a photo (OpenCV): a numbered box and a label per face.

Face *n* on the photo is row *n* of the answer table (faces are numbered left to right,
in the order the service returns them). Labels never overlap one another: each is placed
beside its box where it covers neither another label nor (if it can) another face, and
shrinks to the bare number when the full text finds no room.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from recognition.images import encode_jpeg

KNOWN = (46, 160, 67)  # RGB green
UNKNOWN = (211, 47, 47)  # RGB red
PAD = 3  # pixels between the text and its label's edge


class Answer(Protocol):
    @property
    def box(self) -> tuple[int, int, int, int]: ...
    @property
    def name(self) -> str | None: ...
    @property
    def confidence(self) -> float | None: ...


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    def overlaps(self, other: Rect) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


MIN_SIDE = 640  # small photos are enlarged for display so labels stay readable


def face_label(number: int, face: Answer) -> str:
    """ "3 Kim Clijsters 97%", "3 Kim Clijsters" (no confidence) or "3 unknown" (ASCII:
    Hershey fonts print others as "?")."""
    if not face.name:
        text = f"{number} unknown"
    elif face.confidence is None:
        text = f"{number} {face.name}"
    else:
        text = f"{number} {face.name} {face.confidence:.0%}"
    return text.encode("ascii", "replace").decode()


def place_labels(
    boxes: Sequence[tuple[int, int, int, int]],
    sizes: Sequence[Sequence[tuple[int, int]]],
    *,
    width: int,
    height: int,
) -> list[tuple[int, Rect] | None]:
    """Where each face's label goes: (which size was used, rectangle), or None.

    ``boxes`` are (top, right, bottom, left); ``sizes[i]`` lists the label sizes (w, h)
    to try for face i, preferred first (full text, then the bare number). A label never
    overlaps another label; it avoids other faces' boxes when it can. None only when no
    free spot is left anywhere near the face (not seen on real photos).
    """
    face_rects = [Rect(left, top, right - left, bottom - top) for top, right, bottom, left in boxes]
    placed: list[Rect] = []
    layout: list[tuple[int, Rect] | None] = []
    for index, (top, right, bottom, left) in enumerate(boxes):
        others = [rect for i, rect in enumerate(face_rects) if i != index]
        choice = None
        for avoid_faces in (True, False):
            for size_index, (w, h) in enumerate(sizes[index]):
                for rect in _candidates((top, right, bottom, left), w, h, width, height):
                    if any(rect.overlaps(label) for label in placed):
                        continue
                    if avoid_faces and any(rect.overlaps(face) for face in others):
                        continue
                    choice = (size_index, rect)
                    break
                if choice:
                    break
            if choice:
                break
        if choice is None:
            last = len(sizes[index]) - 1
            spot = _search_free(face_rects[index], sizes[index][last], placed, width, height)
            choice = (last, spot) if spot is not None else None
        if choice is not None:
            placed.append(choice[1])
        layout.append(choice)
    return layout


def _candidates(
    box: tuple[int, int, int, int], w: int, h: int, width: int, height: int
) -> list[Rect]:
    """Spots beside the box, preferred first, each kept inside the photo."""
    top, right, bottom, left = box
    spots = [
        (left, top - h),  # above, left-aligned
        (left, bottom),  # below
        (right - w, top - h),  # above, right-aligned
        (right - w, bottom),
        (left, top),  # inside, top-left corner
        (left, bottom - h),  # inside, bottom-left corner
        (right, top),  # to the right
        (left - w, top),  # to the left
    ]
    rects = []
    for x, y in spots:
        x = max(0, min(x, width - w))
        y = max(0, min(y, height - h))
        rects.append(Rect(x, y, w, h))
    return rects


def _search_free(
    face: Rect, size: tuple[int, int], placed: list[Rect], width: int, height: int
) -> Rect | None:
    """Scan outwards from the face for any spot free of labels (the last resort)."""
    w, h = size
    step = max(1, h // 2)
    for radius in range(0, max(width, height), step):
        for dx, dy in ((0, -1), (0, 1), (-1, 0), (1, 0), (-1, -1), (1, -1), (-1, 1), (1, 1)):
            x = max(0, min(face.x + dx * radius, width - w))
            y = max(0, min(face.y + dy * radius, height - h))
            rect = Rect(x, y, w, h)
            if not any(rect.overlaps(label) for label in placed):
                return rect
    return None


@dataclass(frozen=True)
class Label:
    text: str
    rect: Rect
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class Plan:
    """What annotate_jpeg draws, in the coordinates of the (possibly enlarged) canvas."""

    factor: int
    width: int
    height: int
    thickness: int
    scale: float
    boxes: list[tuple[int, int, int, int]]
    labels: list[Label | None]


FONT = 0  # cv2.FONT_HERSHEY_SIMPLEX, without importing cv2 at module import


def annotation_plan(shape: tuple[int, ...], faces: Sequence[Answer]) -> Plan:
    """Boxes and labels for a photo of ``shape`` (h, w, ...): face n is labelled "n ..."."""
    import cv2  # only needed when an annotated photo is asked for

    height, width = shape[:2]
    factor = max(1, MIN_SIDE // max(width, height, 1))
    height, width = height * factor, width * factor
    thickness = max(2, round(max(width, height) / 400))
    scale = max(0.6, max(width, height) / 1200)  # readable when a small photo is shown small
    text_thickness = max(1, thickness - 1)

    def size(text: str) -> tuple[int, int]:
        (text_w, text_h), baseline = cv2.getTextSize(text, FONT, scale, text_thickness)
        return (min(width, text_w + 2 * PAD), min(height, text_h + baseline + 2 * PAD))

    boxes = [
        (t * factor, r * factor, b * factor, le * factor) for t, r, b, le in (f.box for f in faces)
    ]
    texts = [(face_label(n, face), str(n)) for n, face in enumerate(faces, start=1)]
    layout = place_labels(
        boxes, [[size(full), size(short)] for full, short in texts], width=width, height=height
    )
    labels: list[Label | None] = []
    for face, options, spot in zip(faces, texts, layout, strict=True):
        colour = KNOWN if face.name else UNKNOWN
        labels.append(Label(options[spot[0]], spot[1], colour) if spot else None)
    return Plan(factor, width, height, thickness, scale, boxes, labels)


def annotate_jpeg(rgb: np.ndarray, faces: Sequence[Answer]) -> bytes:
    """A JPEG of ``rgb`` (uint8 (h, w, 3)) with each face's numbered box and label.

    Photos shorter than MIN_SIDE on their longer side are enlarged (whole factor) first.
    """
    import cv2

    plan = annotation_plan(rgb.shape, faces)
    if plan.factor > 1:
        size = (plan.width, plan.height)
        canvas = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
    else:
        canvas = np.ascontiguousarray(rgb.copy())
    text_thickness = max(1, plan.thickness - 1)
    for face, (top, right, bottom, left) in zip(faces, plan.boxes, strict=True):
        colour = KNOWN if face.name else UNKNOWN
        cv2.rectangle(canvas, (left, top), (right, bottom), colour, plan.thickness)
    for label in plan.labels:
        if label is None:
            continue
        rect = label.rect
        corner = (rect.x + rect.w - 1, rect.y + rect.h - 1)
        cv2.rectangle(canvas, (rect.x, rect.y), corner, label.colour, cv2.FILLED)
        baseline = cv2.getTextSize(label.text, FONT, plan.scale, text_thickness)[1]
        origin = (rect.x + PAD, rect.y + rect.h - PAD - baseline)
        white = (255, 255, 255)
        cv2.putText(
            canvas, label.text, origin, FONT, plan.scale, white, text_thickness, cv2.LINE_AA
        )
    return encode_jpeg(canvas)


def face_crops_jpeg(
    rgb: np.ndarray, boxes: Sequence[tuple[int, int, int, int]], *, size: int = 96
) -> list[bytes]:
    """A small square JPEG around each face of ``rgb`` (uint8 (h, w, 3)), same order."""
    from PIL import Image

    from people.thumbnails import THUMBNAIL_QUALITY, face_crop_square

    height, width = rgb.shape[:2]
    photo = Image.fromarray(rgb)
    crops = []
    for box in boxes:
        crop = photo.crop(face_crop_square(box, width=width, height=height))
        crop.thumbnail((size, size))
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY)
        crops.append(buffer.getvalue())
    return crops
