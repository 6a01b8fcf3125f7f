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

The veto applies only to people with at least ``VETO_MIN_PHOTOS`` enrolled photos. With
fewer, the CNN has seen one to three of them (one more goes to validation) and its
probability for a new photo of that person is noise: with Keanu Reeves on 3 photos and
Tom Cruise on 2, the training of ``enroll_folder`` + ``train`` gave a fourth Keanu photo
0.9999 and that of the README's API walkthrough under 0.05, although the photo lay 0.61
from Keanu's centroid, under the 0.95 threshold, and 1.22 from Tom's. On
``bench/accuracy.py`` (5 photos per person, the veto applying to all) it changes no
answer of either engine: the results with and without it are the same.

Calibration (at training time, from the gallery itself, no hand-tuning): leave-one-out
over the enrolled embeddings. For each embedding, its distance to its own person's
centroid computed without it is a *genuine* sample; its distance to the nearest other
person's centroid is an *impostor* sample (what a stranger looks like to this gallery).

    threshold = min(mean_g + Zg sd_g, mean_i - Zi sd_i)
    ratio     = 99th percentile of genuine/impostor (per embedding) + slack

each shrunk towards the engine's prior (worth ``weight`` samples) so a tiny gallery gets
sensible values, and clipped to the engine's bounds. Distances live in each engine's own
vector space, so every value is per engine (``PRIORS``); the priors are the median of
what the rule measures on galleries of dev/ (``bench/openset.py``: 60 galleries of 8-15
people with 3-5 random photos each, the other people's photos as strangers; the
geometric rule alone, the CNN left out):

- ``dlib`` (face_recognition vectors, norm ~1.5): Zg 2.2, Zi 2.0, slack 0.05, prior
  threshold 0.48 and ratio 0.90 worth 20 samples (measured medians 0.50 and 0.93).
  Known faces named right 97.4% on average (90.3% in the worst gallery), never wrongly;
  strangers rejected 99.0% (worst 94.7%).
- ``opencv`` (SFace unit vectors; same-person photos sit ~0.68 from their centroid,
  other people ~1.13): Zg 3.0, Zi 2.5, slack 0.10, prior threshold 0.95 and ratio 0.90,
  a little under the measured medians (0.965 and 0.917) so strangers err on the side of
  unknown, worth 200 samples: across galleries the measured SFace threshold stays within
  0.88-1.03, while a small gallery's own estimate of its spread is noisy, so the prior
  deserves the larger weight. Known faces named right 99.7% (worst 97.5%), never
  wrongly; strangers rejected 99.6% (worst 96.5%). With dlib's z-values SFace named only
  97.2% of known faces right: the genuine-side bound (mean + 2.2 sd) sat well inside a
  gap that SFace leaves much wider than dlib.

A calibration records its engine; one without (models trained before engines existed)
is a dlib one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from recognition.ml.search import squared_distances

RATIO_QUANTILE = 0.99
MIN_AGREEMENT = 0.05
VETO_MIN_PHOTOS = 5
LOO_CHUNK = 1024


@dataclass(frozen=True)
class Priors:
    """One engine's calibration rule: its z-values and slack, where it starts, its bounds."""

    threshold: float
    ratio: float
    threshold_bounds: tuple[float, float]
    ratio_bounds: tuple[float, float]
    genuine_z: float = 2.2
    impostor_z: float = 2.0
    ratio_slack: float = 0.05
    weight: float = 20.0  # how many gallery samples the prior is worth


# Distances depend on the engine's vector space, so each engine has its own rule values
# (measured by bench/openset.py; see the module docstring).
PRIORS = {
    "dlib": Priors(
        threshold=0.48, ratio=0.90, threshold_bounds=(0.35, 0.60), ratio_bounds=(0.80, 0.95)
    ),
    "opencv": Priors(
        threshold=0.95,
        ratio=0.90,
        threshold_bounds=(0.85, 1.05),
        ratio_bounds=(0.80, 0.95),
        genuine_z=3.0,
        impostor_z=2.5,
        ratio_slack=0.10,
        weight=200.0,
    ),
}
# The models trained before engines existed were all dlib ones.
LEGACY_ENGINE = "dlib"


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
    engine: str = LEGACY_ENGINE

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})


# Why a face is unknown (Decision.reason); the service adds its own (see identify).
NO_CLOSE_MATCH = "no_close_match"  # even the nearest person is farther than the cut-off
AMBIGUOUS = "ambiguous"  # near enough, but another person is nearly as near
# the geometry agrees, the CNN gives that person (of VETO_MIN_PHOTOS or more) almost nothing
MODEL_VETO = "model_veto"
CANDIDATES = 3


@dataclass(frozen=True)
class Decision:
    """``index``: class index of the person named, or None (unknown).

    ``candidates``: the nearest classes, nearest first, as (class index, distance);
    ``cutoff``: the largest distance at which the nearest class would have been named
    (its distance limit, and ``ratio`` times the rival's distance); ``reason``: why
    the face is unknown (None when named); ``confidence``: the CNN's probability for
    the nearest class, which counts only when ``classifier_counts``.
    """

    index: int | None
    confidence: float
    distance: float
    candidates: tuple[tuple[int, float], ...] = ()
    threshold: float = 0.0
    cutoff: float = 0.0
    reason: str | None = None
    # Whether the CNN's probability counts for this face's nearest person (they have
    # VETO_MIN_PHOTOS or more photos): it may veto, and it is worth reporting.
    classifier_counts: bool = True


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


@dataclass(frozen=True)
class Measured:
    """The rule's values measured on a gallery alone (no prior), with their inputs."""

    threshold: float
    ratio: float
    samples: int
    genuine_mean: float
    genuine_sd: float
    impostor_mean: float
    impostor_sd: float


def measure(embeddings: np.ndarray, labels: np.ndarray, *, engine: str) -> Measured | None:
    """Threshold and ratio the gallery alone gives (None with fewer than 2 samples)."""
    priors = PRIORS[engine]
    genuine, impostor = leave_one_out(embeddings, labels)
    n = len(genuine)
    if n < 2:
        return None
    g_mean, g_sd = float(genuine.mean()), float(genuine.std(ddof=1))
    i_mean, i_sd = float(impostor.mean()), float(impostor.std(ddof=1))
    return Measured(
        threshold=min(g_mean + priors.genuine_z * g_sd, i_mean - priors.impostor_z * i_sd),
        ratio=float(np.quantile(genuine / impostor, RATIO_QUANTILE)) + priors.ratio_slack,
        samples=n,
        genuine_mean=g_mean,
        genuine_sd=g_sd,
        impostor_mean=i_mean,
        impostor_sd=i_sd,
    )


def calibrate(embeddings: np.ndarray, labels: np.ndarray, *, engine: str) -> Calibration:
    """Thresholds for :func:`decide` from a gallery of ``engine``'s embeddings."""
    priors = PRIORS[engine]
    measured = measure(embeddings, labels, engine=engine)
    if measured is None:
        samples = len(leave_one_out(embeddings, labels)[0])
        return Calibration(
            threshold=priors.threshold, ratio=priors.ratio, samples=samples, engine=engine
        )
    weight = measured.samples / (measured.samples + priors.weight)
    threshold = weight * measured.threshold + (1 - weight) * priors.threshold
    ratio = weight * measured.ratio + (1 - weight) * priors.ratio
    return Calibration(
        threshold=round(float(np.clip(threshold, *priors.threshold_bounds)), 4),
        ratio=round(float(np.clip(ratio, *priors.ratio_bounds)), 4),
        samples=measured.samples,
        genuine_mean=round(measured.genuine_mean, 4),
        genuine_sd=round(measured.genuine_sd, 4),
        impostor_mean=round(measured.impostor_mean, 4),
        impostor_sd=round(measured.impostor_sd, 4),
        engine=engine,
    )


def decide(
    probabilities: np.ndarray,
    embeddings: np.ndarray,
    centroids: np.ndarray,
    calibration: Calibration,
    *,
    threshold: float | None = None,
    class_limits: np.ndarray | None = None,
    class_photos: np.ndarray | None = None,
) -> list[Decision]:
    """One decision per face, with the evidence for it.

    ``probabilities`` float (n, k) from the CNN; ``embeddings`` float (n, 128);
    ``centroids`` float (k, 128); ``threshold`` overrides the calibrated distance;
    ``class_limits`` float (k,) lowers it per class (people tightened by corrections,
    see :func:`class_limits_tightened`); ``class_photos`` int (k,): enrolled photos per
    class, the CNN's veto applying to classes with ``VETO_MIN_PHOTOS`` or more (None:
    to every class).
    """
    limit = calibration.threshold if threshold is None else threshold
    if len(embeddings) == 0:
        return []
    probs = np.asarray(probabilities)
    d2 = squared_distances(embeddings, np.asarray(centroids, dtype=np.float32))
    # The nearest CANDIDATES centroids of each face, without sorting all k of them.
    k = d2.shape[1]
    top = min(CANDIDATES, k)
    if k > top:
        nearest = np.argpartition(d2, top - 1, axis=1)[:, :top]
    else:
        nearest = np.tile(np.arange(k), (len(d2), 1))
    order = np.take_along_axis(d2, nearest, axis=1).argsort(axis=1, kind="stable")
    nearest = np.take_along_axis(nearest, order, axis=1)
    decisions = []
    for row in range(len(d2)):
        candidate = int(nearest[row, 0])
        distance = float(np.sqrt(d2[row, candidate]))
        rival = float(np.sqrt(d2[row, nearest[row, 1]])) if k >= 2 else np.inf
        agreement = float(probs[row, candidate])
        own_limit = limit
        if class_limits is not None:
            own_limit = min(limit, float(class_limits[candidate]))
        cutoff = min(own_limit, calibration.ratio * rival)
        reason = None
        if distance > own_limit:
            reason = NO_CLOSE_MATCH
        elif distance > calibration.ratio * rival:
            reason = AMBIGUOUS
        counts = class_photos is None or bool(class_photos[candidate] >= VETO_MIN_PHOTOS)
        if reason is None and counts and agreement < MIN_AGREEMENT:
            reason = MODEL_VETO
        decisions.append(
            Decision(
                index=candidate if reason is None else None,
                confidence=agreement,
                distance=distance,
                candidates=tuple((int(i), float(np.sqrt(d2[row, i]))) for i in nearest[row]),
                threshold=float(own_limit),
                cutoff=float(cutoff),
                reason=reason,
                classifier_counts=counts,
            )
        )
    return decisions


def corrected(embedding: np.ndarray, distance: float, negatives: np.ndarray) -> bool:
    """Whether a face named at ``distance`` from its person is vetoed by a correction.

    ``negatives`` float (m, 128): faces recorded as "not this person" for that person.
    The face is not that person when it lies at least as close to one of them as to the
    person's centroid: the corrected face itself (distance 0) and its near copies are
    refused, while the person's genuine photos, nearer their own centroid, are not.
    """
    if len(negatives) == 0:
        return False
    gaps = np.linalg.norm(
        np.asarray(negatives, np.float64) - np.asarray(embedding, np.float64)[None], axis=1
    )
    return bool(gaps.min() <= distance)


def class_limits_tightened(
    centroids: np.ndarray,
    negatives: np.ndarray,
    negative_labels: np.ndarray,
    calibration: Calibration,
) -> np.ndarray:
    """Per-class distance limits, float64 (k,), after "not this person" corrections.

    ``centroids`` float (k, 128); ``negatives`` float (m, 128) recorded against class
    ``negative_labels`` int (m,). A class with corrections accepts only faces nearer its
    centroid than the nearest face it was wrongly given; never below the gallery's mean
    genuine distance (so one mistaken correction cannot lock a person out), and never
    above the calibrated threshold. Classes without corrections keep the threshold.
    """
    k = len(centroids)
    limits = np.full(k, float(calibration.threshold))
    if len(negatives) == 0:
        return limits
    floor = calibration.genuine_mean
    if floor is None:
        floor = calibration.threshold / 2
    gaps = np.linalg.norm(
        np.asarray(negatives, np.float64)
        - np.asarray(centroids, np.float64)[np.asarray(negative_labels)],
        axis=1,
    )
    for label, gap in zip(np.asarray(negative_labels), gaps, strict=True):
        limits[label] = min(limits[label], max(float(gap), float(floor)))
    return limits
