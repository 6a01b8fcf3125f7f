"""Every face in a photo with its embedding, through a face engine (see ``engine``).

Pure: numpy arrays in, numpy arrays and tuples out; no Django. Also the home of the
shapes every other module shares (``Box``, ``box_area``, ``EMBEDDING_DIM``), defined
with the engine seam.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognition.ml.engine import EMBEDDING_DIM, Box, FaceEngine, box_area

__all__ = ["EMBEDDING_DIM", "Box", "FoundFace", "box_area", "find_faces"]


@dataclass(frozen=True)
class FoundFace:
    """A detected face: its box in original-image pixels and its embedding.

    ``embedding`` is float32 of shape (128,); ``score`` the detector's confidence.
    """

    box: Box
    embedding: np.ndarray
    score: float = 1.0


def find_faces(rgb: np.ndarray, *, engine: FaceEngine, scan_side: int | None) -> list[FoundFace]:
    """Detect and embed every face of ``rgb`` (uint8 (h, w, 3)), largest first."""
    found = sorted(
        engine.detect(rgb, scan_side=scan_side), key=lambda f: box_area(f.box), reverse=True
    )
    vectors = engine.embed(rgb, found)
    return [
        FoundFace(box=face.box, embedding=vectors[i], score=face.score)
        for i, face in enumerate(found)
    ]
