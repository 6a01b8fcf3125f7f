"""Open-set decision: a named person, or "unknown".

Pure: numpy in, numpy out; no Django.

A softmax always names someone, so the answer needs the embedding geometry *and* the
CNN to agree. For a face with embedding ``e``: the candidate ``c`` is the person whose
centroid (mean enrolled embedding) is nearest; ``distance`` = ||e - centroid(c)||;
``rival`` = distance to the nearest centroid of any *other* person. The face is ``c`` when

    distance <= threshold  and  distance / rival <= ratio  and  CNN p(c) >= MIN_AGREEMENT

otherwise unknown. The CNN is a veto, not the chooser: on held-out faces the nearest
centroid was right more often than the CNN's argmax (100% vs 98.3% on dev/), while a
CNN that gives the candidate almost no probability flags a face unlike its training
photos. ``confidence`` is the CNN's probability for the candidate.

Calibration (at training time, from the gallery itself, no hand-tuning): leave-one-out
over the enrolled embeddings. For each embedding, its distance to its own person's
centroid computed without it is a *genuine* sample; its distance to the nearest other
person's centroid is an *impostor* sample (what a stranger looks like to this gallery).

    threshold = min(mean_g + 2.2 sd_g, mean_i - 2 sd_i)
    ratio     = 99th percentile of genuine/impostor (per embedding) + 0.05

each shrunk towards a prior (threshold 0.48, ratio 0.90, worth PRIOR_WEIGHT samples)
so a tiny gallery gets sensible values, and clipped to safe bounds. The priors are the
values this rule gives on LFW-like galleries of dlib embeddings.

Measured on ../shared/faces/dev (the geometric rule alone; 30 galleries of 8-15 people
with 3-5 photos each, the other people as strangers): known faces named correctly
98.6-100%, never named wrongly, strangers rejected 95.5-100%. See bench/accuracy.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from recognition.ml.search import squared_distances

PRIOR_THRESHOLD = 0.48
PRIOR_RATIO = 0.90
PRIOR_WEIGHT = 20.0
THRESHOLD_BOUNDS = (0.35, 0.60)
RATIO_BOUNDS = (0.80, 0.95)
GENUINE_Z = 2.2
IMPOSTOR_Z = 2.0
RATIO_QUANTILE = 0.99
RATIO_SLACK = 0.05
MIN_AGREEMENT = 0.05
LOO_CHUNK = 1024


@dataclass(frozen=True)
class Calibration:
    threshold: float
    ratio: float
    samples: int = 0
    genuine_mean: float | None = None
    genuine_sd: float | None = None
    impostor_mean: float | None = None
    impostor_sd: float | None = None
    method: str = "loo-centroid-v1"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})


@dataclass(frozen=True)
class Decision:
    """``index``: class index of the person named, or None (unknown)."""

    index: int | None
    confidence: float
    distance: float


def leave_one_out(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Genuine and impostor distances, float64 (m,), for embeddings whose class has >= 2.

    ``embeddings`` float (n, 128); ``labels`` int (n,) in [0, k) with k >= 2. Memory
    stays bounded (``LOO_CHUNK`` rows of distances at a time) at 100,000 embeddings of
    10,000 people.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels)
    k = int(y.max()) + 1
    counts = np.bincount(y, minlength=k)
    sums = np.zeros((k, x.shape[1]))
    np.add.at(sums, y, x)
    centroids = (sums / counts[:, None]).astype(np.float32)
    norms = (centroids * centroids).sum(axis=1)
    keep = np.flatnonzero(counts[y] >= 2)
    own = (sums[y[keep]] - x[keep]) / (counts[y[keep]] - 1)[:, None]
    genuine = np.linalg.norm(x[keep] - own, axis=1)
    impostor = np.empty(len(keep))
    for start in range(0, len(keep), LOO_CHUNK):
        rows = keep[start : start + LOO_CHUNK]
        d2 = squared_distances(x[rows], centroids, norms)
        d2[np.arange(len(rows)), y[rows]] = np.inf
        impostor[start : start + len(rows)] = np.sqrt(d2.min(axis=1))
    return genuine, impostor


def calibrate(embeddings: np.ndarray, labels: np.ndarray) -> Calibration:
    """Thresholds for :func:`decide` from the enrolled gallery (see module docstring)."""
    genuine, impostor = leave_one_out(embeddings, labels)
    n = len(genuine)
    if n < 2:
        return Calibration(threshold=PRIOR_THRESHOLD, ratio=PRIOR_RATIO, samples=n)
    g_mean, g_sd = float(genuine.mean()), float(genuine.std(ddof=1))
    i_mean, i_sd = float(impostor.mean()), float(impostor.std(ddof=1))
    measured = min(g_mean + GENUINE_Z * g_sd, i_mean - IMPOSTOR_Z * i_sd)
    measured_ratio = float(np.quantile(genuine / impostor, RATIO_QUANTILE)) + RATIO_SLACK
    weight = n / (n + PRIOR_WEIGHT)
    threshold = weight * measured + (1 - weight) * PRIOR_THRESHOLD
    ratio = weight * measured_ratio + (1 - weight) * PRIOR_RATIO
    return Calibration(
        threshold=round(float(np.clip(threshold, *THRESHOLD_BOUNDS)), 4),
        ratio=round(float(np.clip(ratio, *RATIO_BOUNDS)), 4),
        samples=n,
        genuine_mean=round(g_mean, 4),
        genuine_sd=round(g_sd, 4),
        impostor_mean=round(i_mean, 4),
        impostor_sd=round(i_sd, 4),
    )


def decide(
    probabilities: np.ndarray,
    embeddings: np.ndarray,
    centroids: np.ndarray,
    calibration: Calibration,
    *,
    threshold: float | None = None,
) -> list[Decision]:
    """One decision per face.

    ``probabilities`` float (n, k) from the CNN; ``embeddings`` float (n, 128);
    ``centroids`` float (k, 128); ``threshold`` overrides the calibrated distance.
    """
    limit = calibration.threshold if threshold is None else threshold
    if len(embeddings) == 0:
        return []
    probs = np.asarray(probabilities)
    d2 = squared_distances(embeddings, np.asarray(centroids, dtype=np.float32))
    # The two nearest centroids of each face, without sorting all k of them.
    k = d2.shape[1]
    if k >= 2:
        two = np.argpartition(d2, 1, axis=1)[:, :2]
        order = np.take_along_axis(d2, two, axis=1).argsort(axis=1)
        two = np.take_along_axis(two, order, axis=1)
    else:
        two = np.zeros((len(d2), 1), dtype=np.int64)
    decisions = []
    for row in range(len(d2)):
        candidate = int(two[row, 0])
        distance = float(np.sqrt(d2[row, candidate]))
        rival = float(np.sqrt(d2[row, two[row, 1]])) if k >= 2 else np.inf
        agreement = float(probs[row, candidate])
        accepted = (
            distance <= limit
            and distance <= calibration.ratio * rival
            and agreement >= MIN_AGREEMENT
        )
        decisions.append(
            Decision(
                index=candidate if accepted else None,
                confidence=agreement,
                distance=distance,
            )
        )
    return decisions
