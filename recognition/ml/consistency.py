"""Does an enrollment photo look like the person it is filed under?

Pure: numpy in, numpy out; no Django.

Two warnings (the photo is still enrolled; a person decides):

- ``looks_like``: the face is nearer another person's centroid than its own person's and
  close enough to that person to be taken for them: a photo of A uploaded to B, or a
  second record of someone already enrolled.
- ``unlike_person``: the face is farther from its own person's other photos than photos
  of one person in this gallery ever are: the wrong photo, or a bad one.

No constant is tied to one face encoder. Both limits come from the gallery itself, by
leave-one-out over the enrolled embeddings (each photo against its own person's other
photos: *genuine*; against the nearest other person: *impostor*), in whatever units the
engine's embeddings have (Euclidean; on unit vectors it orders faces as cosine does):

    same_person_limit = mean_g + k_n sd_g               (beyond: unlike_person)
    confusable_limit  = min(mean_g + 2.2 sd_g, median_i - 2 sd_i)  (within: looks_like)

``k_n`` is the one-sided prediction bound at the 3-sigma level for n samples (Student's
t with n-1 degrees of freedom, times sqrt(1 + 1/n)): 3.04 for 255 samples, 5.95 for 6,
so a small gallery, which cannot say what "usual" is, warns only when it is obvious.
The confusable limit has the form of the open-set calibration (``openset.calibrate``)
without its priors, the impostor side robust (median, and sd estimated from the median
absolute deviation): duplicate records of one person must not pull it down. With
fewer than MIN_SAMPLES genuine samples no warning is given, and unlike_person needs
the person to have MIN_OWN_PHOTOS other photos (against one photo, which of the two is
the odd one?).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SAMPLES = 4
MIN_OWN_PHOTOS = 2
SAME_PERSON_Z = 3.0
GENUINE_Z = 2.2
IMPOSTOR_Z = 2.0
BLOCK = 1024  # photos per block of the impostor distance matrix
MAD_TO_SD = 1.4826  # a normal distribution's sd per median absolute deviation

UNLIKE_PERSON = "unlike_person"
LOOKS_LIKE = "looks_like"


@dataclass(frozen=True)
class Limits:
    """Distances judged against, from a gallery of ``samples`` genuine pairs."""

    same_person: float
    confusable: float
    samples: int


@dataclass(frozen=True)
class Verdict:
    """``code`` None (consistent, or not judged), UNLIKE_PERSON or LOOKS_LIKE.

    ``other``: the class index the face is nearest to among the other people (for
    LOOKS_LIKE, whom it looks like); distances in the embeddings' own units.
    """

    code: str | None
    own_distance: float | None
    other: int | None
    other_distance: float | None


def _centroids(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(y, minlength=k)
    sums = np.zeros((k, x.shape[1]))
    np.add.at(sums, y, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None], counts


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (len(a), len(b)) without an (n, k, d) intermediate."""
    squared = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def _prediction_factor(samples: int) -> float:
    """How many sd beyond the mean one new same-person distance may fall (3 sigma)."""
    from scipy.stats import norm, t  # lazily: only when a gallery is judged

    quantile = float(norm.cdf(SAME_PERSON_Z))
    return float(t.ppf(quantile, samples - 1)) * (1 + 1 / samples) ** 0.5


def gallery_limits(embeddings: np.ndarray, labels: np.ndarray) -> Limits | None:
    """The limits of a gallery: ``embeddings`` float (n, d), ``labels`` int (n,) in [0, k).

    None when it has fewer than MIN_SAMPLES photos whose person has another photo, or
    fewer than two people.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if len(y) == 0 or len(np.unique(y)) < 2:
        return None
    k = int(y.max()) + 1
    centroids, counts = _centroids(x, y, k)
    keep = np.flatnonzero(counts[y] >= 2)
    if len(keep) < MIN_SAMPLES:
        return None
    sums = centroids * counts[:, None]
    own = (sums[y[keep]] - x[keep]) / (counts[y[keep]] - 1)[:, None]
    genuine = np.linalg.norm(x[keep] - own, axis=1)
    present = counts > 0
    safe_centroids = np.where(present[:, None], centroids, 0.0)
    impostor = np.empty(len(keep))
    # In blocks: a 20,000-photo gallery of 2,000 people would need a 320 MB matrix.
    for start in range(0, len(keep), BLOCK):
        rows = keep[start : start + BLOCK]
        to_all = _pairwise(x[rows], safe_centroids)
        to_all[:, ~present] = np.inf
        to_all[np.arange(len(rows)), y[rows]] = np.inf
        impostor[start : start + len(rows)] = to_all.min(axis=1)
    g_mean, g_sd = float(genuine.mean()), float(genuine.std(ddof=1))
    # Median and MAD: two records of one person (what looks_like is there to catch) put
    # near-zero "impostor" distances in the sample; they must not drag the limit down.
    i_centre = float(np.median(impostor))
    i_spread = MAD_TO_SD * float(np.median(np.abs(impostor - i_centre)))
    return Limits(
        same_person=g_mean + _prediction_factor(len(keep)) * g_sd,
        confusable=min(g_mean + GENUINE_Z * g_sd, i_centre - IMPOSTOR_Z * i_spread),
        samples=len(keep),
    )


def judge(
    vector: np.ndarray,
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    own: int,
    limits: Limits | None,
) -> Verdict:
    """How ``vector`` (d,) sits in the gallery (``embeddings`` (n, d), ``labels`` (n,)),
    filed under class ``own`` (which may have no photo yet). The gallery must not hold
    ``vector`` itself."""
    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if len(y) == 0:
        return Verdict(None, None, None, None)
    k = max(int(y.max()), own) + 1
    sums = np.zeros((k, x.shape[1]))
    np.add.at(sums, y, x)
    return judge_sums(vector, sums, np.bincount(y, minlength=k), own=own, limits=limits)


def judge_sums(
    vector: np.ndarray,
    sums: np.ndarray,
    counts: np.ndarray,
    *,
    own: int,
    limits: Limits | None,
) -> Verdict:
    """:func:`judge` from per-class sums (k, d) and counts (k,) of a gallery without
    ``vector``: what a batch keeps up to date as it adds photos."""
    v = np.asarray(vector, dtype=np.float64)
    k = len(counts)
    if own >= k:  # a person with no photo yet
        sums = np.vstack([sums, np.zeros((own - k + 1, sums.shape[1]))])
        counts = np.concatenate([counts, np.zeros(own - k + 1, dtype=counts.dtype)])
    with np.errstate(invalid="ignore", divide="ignore"):
        centroids = sums / counts[:, None]
    distances = np.linalg.norm(centroids - v[None, :], axis=1)
    distances[counts == 0] = np.inf
    own_distance = float(distances[own]) if counts[own] else None
    distances[own] = np.inf
    nearest = int(np.argmin(distances))
    other = nearest if np.isfinite(distances[nearest]) else None
    other_distance = float(distances[nearest]) if other is not None else None
    code = None
    if limits is not None and other_distance is not None:
        nearer_other = own_distance is None or other_distance < own_distance
        if nearer_other and other_distance <= limits.confusable:
            code = LOOKS_LIKE
    far = (
        own_distance is not None
        and limits is not None
        and counts[own] >= MIN_OWN_PHOTOS
        and own_distance > limits.same_person
    )
    if code is None and far:
        code = UNLIKE_PERSON
    return Verdict(
        code=code,
        own_distance=None if own_distance is None else round(own_distance, 4),
        other=other,
        other_distance=None if other_distance is None else round(other_distance, 4),
    )
