"""The annotated answer photo: numbered boxes whose labels never overlap."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recognition.analysis import Limits
from recognition.annotate import Rect, annotate_jpeg, annotation_plan, face_label, place_labels


def face_boxes(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Faces the configured engine finds in ``rgb``, as (top, right, bottom, left)."""
    engine = Limits.from_settings().face_engine()
    return [found.box for found in engine.detect(rgb, scan_side=1024)]


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]
    name: str | None
    confidence: float | None


NAMES = ["Dwayne Johnson", None, "Jason Statham", "Bruce Willis", "Vin Diesel"]


def detected(path: Path) -> tuple[np.ndarray, list[Face]]:
    rgb = np.asarray(Image.open(path).convert("RGB"))
    boxes = sorted(
        face_boxes(rgb),
        key=lambda box: box[3],
    )
    return rgb, [Face(box, NAMES[i % len(NAMES)], 0.93) for i, box in enumerate(boxes)]


@pytest.mark.parametrize(
    ("photo", "count"),
    [("dlib_bald_guys.jpg", 24), ("fr_two_people.jpg", 2), ("dlib_2008_002506.jpg", 3)],
)
def test_every_face_gets_its_number_and_no_two_labels_overlap(
    faces_dir: Path, photo: str, count: int
) -> None:
    rgb, faces = detected(faces_dir / "group" / photo)
    assert len(faces) == count
    plan = annotation_plan(rgb.shape, faces)
    labels = [label for label in plan.labels if label is not None]
    assert len(labels) == count
    for number, label in enumerate(plan.labels, start=1):
        assert label is not None
        # Face n on the photo is row n of the table (faces come left to right).
        assert label.text.split(" ")[0] == str(number)
        rect = label.rect
        assert rect.x >= 0 and rect.x + rect.w <= plan.width
        assert rect.y >= 0 and rect.y + rect.h <= plan.height
    for first, second in itertools.combinations(labels, 2):
        assert not first.rect.overlaps(second.rect), (first, second)
    full = [label for label in labels if label.text != label.text.split(" ")[0]]
    # Where a name has no room, the bare number stays (the table has the name).
    assert len(full) == count if count < 5 else len(full) >= count * 2 // 3


def test_the_drawn_photo_carries_the_labels(faces_dir: Path) -> None:
    rgb, faces = detected(faces_dir / "group" / "fr_two_people.jpg")
    plan = annotation_plan(rgb.shape, faces)
    drawn = np.asarray(Image.open(io.BytesIO(annotate_jpeg(rgb, faces))).convert("RGB"))
    assert drawn.shape == rgb.shape
    for label in plan.labels:
        assert label is not None
        inside = drawn[
            label.rect.y : label.rect.y + label.rect.h, label.rect.x : label.rect.x + label.rect.w
        ]
        # Mostly the label's colour (green: known, red: unknown), with white text on it.
        colour = np.array(label.colour)
        close = np.abs(inside.astype(int) - colour).max(axis=2) < 60
        assert close.mean() > 0.4
        assert (inside.min(axis=2) > 200).mean() > 0.03


def test_crowded_faces_fall_back_to_numbers_and_still_never_overlap() -> None:
    # A row of touching 30-pixel faces: no room for long names anywhere around them.
    boxes = [(40, 30 * (i + 1), 70, 30 * i) for i in range(10)]
    sizes = [[(200, 20), (14, 20)] for _ in boxes]
    layout = place_labels(boxes, sizes, width=300, height=110)
    rects = [spot[1] for spot in layout if spot is not None]
    assert len(rects) == len(boxes)
    assert any(spot is not None and spot[0] == 1 for spot in layout)
    for first, second in itertools.combinations(rects, 2):
        assert not first.overlaps(second)
    assert all(isinstance(rect, Rect) for rect in rects)


def test_labels_show_a_confidence_only_when_there_is_one() -> None:
    box = (0, 10, 10, 0)
    assert face_label(3, Face(box, "Kim Clijsters", 0.973)) == "3 Kim Clijsters 97%"
    assert face_label(3, Face(box, "Keanu Reeves", None)) == "3 Keanu Reeves"
    assert face_label(4, Face(box, None, None)) == "4 unknown"
    assert face_label(5, Face(box, "Zoë", 0.5)) == "5 Zo? 50%"
