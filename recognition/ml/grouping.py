"""Group unknown faces that are probably the same person. Pure: numpy in, numpy out.

Average-linkage agglomerative clustering (scikit-learn) over Euclidean distances, cut
at ``distance``: two groups merge while the mean distance between their faces is
within it. The caller derives ``distance`` from the active model's calibrated
threshold, so it means the same in every engine's vector space: faces one model would
accept as one enrolled person end up in one group.
"""

from __future__ import annotations

import numpy as np


def group_faces(embeddings: np.ndarray, *, distance: float) -> np.ndarray:
    """Group labels, int64 (n,), numbered 0.. by first appearance, for float (n, d)."""
    x = np.asarray(embeddings, dtype=np.float64)
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(x) == 1:
        return np.zeros(1, dtype=np.int64)
    # Imported lazily: scikit-learn is only needed when someone opens the inbox.
    from sklearn.cluster import AgglomerativeClustering

    raw = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, linkage="average", metric="euclidean"
    ).fit_predict(x)
    # Renumber so group 0 holds the first face, group 1 the next new one, ...
    _, first = np.unique(raw, return_index=True)
    order = {int(raw[i]): rank for rank, i in enumerate(sorted(first))}
    return np.array([order[int(label)] for label in raw], dtype=np.int64)
