"""The enrolled photos nearest to a face: what a named answer matched.

An exact numpy scan over the named person's stored embeddings (a person has tens of
photos, so this costs one small query and a few microseconds). Kept behind this one
selector so an index over the whole gallery (recognition/ml/search.py) can replace it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognition.models import Embedding

MATCHES = 3


@dataclass(frozen=True)
class Match:
    face_image_id: int
    person_id: int
    distance: float


def face_images_nearest(*, embedding: np.ndarray, person_id: int, k: int = MATCHES) -> list[Match]:
    """``person_id``'s ``k`` enrolled photos nearest to ``embedding`` float (128,)."""
    rows = list(
        Embedding.objects.filter(face_image__person_id=person_id).values_list(
            "face_image_id", "data"
        )
    )
    if not rows:
        return []
    vectors = np.stack([np.frombuffer(bytes(data), dtype="<f4") for _, data in rows])
    distances = np.linalg.norm(vectors.astype(np.float64) - embedding[None], axis=1)
    order = np.argsort(distances, kind="stable")[:k]
    return [
        Match(
            face_image_id=int(rows[i][0]),
            person_id=person_id,
            distance=round(float(distances[i]), 4),
        )
        for i in order
    ]
