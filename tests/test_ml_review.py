"""The pure parts of reviewing: why a face is unknown, corrections' geometry, grouping.

Vectors here are synthetic on purpose: these test the arithmetic of the rules; the
tests with real faces are in test_recognition_review.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from recognition.ml import openset
from recognition.ml.grouping import group_faces

CAL = openset.Calibration(threshold=0.5, ratio=0.9, genuine_mean=0.3)
CENTROIDS = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]])
SURE = np.array([[0.98, 0.01, 0.01]])


def decide(face: list[float], probabilities: np.ndarray = SURE, **kwargs):
    [decision] = openset.decide(probabilities, np.array([face]), CENTROIDS, CAL, **kwargs)
    return decision


def test_reasons_candidates_and_cutoff():
    named = decide([0.1, 0.0])
    assert named.index == 0 and named.reason is None
    assert [i for i, _ in named.candidates] == [0, 1, 2]
    assert named.cutoff == 0.5 and named.threshold == 0.5

    far = decide([-0.7, 0.0])
    assert far.index is None and far.reason == openset.NO_CLOSE_MATCH
    # Distances are computed in float32 (openset.decide's matrix form).
    assert far.candidates[0][0] == 0 and far.candidates[0][1] == pytest.approx(0.7, abs=1e-6)
    assert far.cutoff == 0.5

    # Between two people: 0.48 from the first, 0.52 from the second (ratio 0.92 > 0.9).
    between = decide([0.48, 0.0])
    assert between.index is None and between.reason == openset.AMBIGUOUS
    assert between.cutoff == pytest.approx(0.9 * 0.52, abs=1e-6)

    veto = decide([0.1, 0.0], np.array([[0.01, 0.98, 0.01]]))
    assert veto.index is None and veto.reason == openset.MODEL_VETO
    enough = np.array([openset.VETO_MIN_PHOTOS, 1, 1])
    veto = decide([0.1, 0.0], np.array([[0.01, 0.98, 0.01]]), class_photos=enough)
    assert veto.index is None and veto.reason == openset.MODEL_VETO
    # A person on fewer photos: the CNN's opinion of them is noise, the geometry decides.
    few = np.array([openset.VETO_MIN_PHOTOS - 1, 50, 50])
    named = decide([0.1, 0.0], np.array([[0.01, 0.98, 0.01]]), class_photos=few)
    assert named.index == 0 and named.reason is None and not named.classifier_counts
    assert decide([0.1, 0.0], class_photos=enough).classifier_counts

    tightened = decide([0.2, 0.0], class_limits=np.array([0.15, 0.5, 0.5]))
    assert tightened.reason == openset.NO_CLOSE_MATCH and tightened.threshold == 0.15


def test_a_correction_vetoes_faces_nearer_it_than_the_person():
    negatives = np.array([[0.3, 0.1]])
    assert openset.corrected(np.array([0.3, 0.1]), 0.32, negatives)  # the same face
    assert openset.corrected(np.array([0.28, 0.1]), 0.30, negatives)  # a near copy
    assert not openset.corrected(np.array([0.05, 0.0]), 0.05, negatives)  # a genuine one
    assert not openset.corrected(np.array([0.3, 0.1]), 0.32, np.zeros((0, 2)))


def test_tightened_limits_stop_at_the_nearest_negative_but_never_below_the_genuine_mean():
    limits = openset.class_limits_tightened(
        CENTROIDS,
        np.array([[0.4, 0.0], [1.1, 0.0], [1.0, 0.1]]),
        np.array([0, 1, 1]),
        CAL,
    )
    assert limits.tolist() == [0.4, 0.3, 0.5]


def test_grouping_cuts_at_the_distance_given():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 0.05, (3, 8))
    b = rng.normal(0, 0.05, (2, 8)) + 1.0
    faces = np.concatenate([a[:1], b[:1], a[1:], b[1:]])
    assert group_faces(faces, distance=0.6).tolist() == [0, 1, 0, 0, 1]
    assert group_faces(faces, distance=10).tolist() == [0, 0, 0, 0, 0]
    assert group_faces(faces[:1], distance=0.6).tolist() == [0]
    assert group_faces(np.zeros((0, 8)), distance=0.6).tolist() == []
