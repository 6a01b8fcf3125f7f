"""The enrolled photos nearest to a face: what a named answer matched.

An exact numpy scan over the named person's stored embeddings (a person has tens of
photos, read with the rest of an answer's evidence by recognition.evidence). Kept
behind this one function so an index over the whole gallery (recognition/ml/search.py)
can replace it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MATCHES = 3


@dataclass(frozen=True)
class Match:
    face_image_id: int
    person_id: int
    distance: float

    def as_dict(self) -> dict[str, int | float]:
        return {
            "face_image_id": self.face_image_id,
            "person_id": self.person_id,
            "distance": self.distance,
        }


def nearest_matches(
    *,
    embedding: np.ndarray,
    person_id: int,
    photo_ids: np.ndarray,
    vectors: np.ndarray,
    k: int = MATCHES,
) -> list[Match]:
    """The ``k`` of ``person_id``'s photos nearest to ``embedding`` float (128,), nearest
    first; ``photo_ids`` int (n,) are FaceImage ids, ``vectors`` float (n, 128) theirs."""
    if len(photo_ids) == 0:
        return []
    distances = np.linalg.norm(np.asarray(vectors, np.float64) - embedding[None], axis=1)
    order = np.argsort(distances, kind="stable")[:k]
    return [
        Match(
            face_image_id=int(photo_ids[i]),
            person_id=person_id,
            distance=round(float(distances[i]), 4),
        )
        for i in order
    ]
