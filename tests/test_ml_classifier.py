"""The pure ML core: numpy forward pass equals Keras, safe file format, open-set rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recognition.ml import classifier as ml_classifier
from recognition.ml import openset


def random_classifier(n_classes: int = 4) -> ml_classifier.Classifier:
    model = ml_classifier.build_keras(n_classes)
    rng = np.random.default_rng(1)
    return ml_classifier.Classifier(
        weights=[w.astype(np.float32) for w in model.get_weights()],
        mean=rng.normal(0, 0.05, 128).astype(np.float32),
        scale=rng.uniform(0.05, 0.1, 128).astype(np.float32),
        centroids=rng.normal(0, 0.1, (n_classes, 128)).astype(np.float32),
    )


def test_numpy_forward_pass_equals_keras():
    classifier = random_classifier()
    model = ml_classifier.build_keras(4)
    model.set_weights(classifier.weights)
    x = np.random.default_rng(2).normal(0, 0.1, (7, 128)).astype(np.float32)
    expected = np.asarray(model((x - classifier.mean) / classifier.scale, training=False))
    got = classifier.probabilities(x)
    assert got.shape == (7, 4) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_no_bottleneck_before_the_softmax():
    model = ml_classifier.build_keras(3)
    names = [layer.__class__.__name__ for layer in model.layers]
    assert {"Conv1D", "MaxPooling1D", "Dropout", "Dense"} <= set(names)
    assert model.layers[-1].units == 3 and model.layers[-1].activation.__name__ == "softmax"
    hidden = [layer for layer in model.layers[:-1] if layer.__class__.__name__ == "Dense"]
    assert hidden and all(layer.units >= 64 for layer in hidden)


def test_save_load_round_trip_and_refusals(tmp_path):
    classifier = random_classifier()
    path = tmp_path / "models" / "m.npz"
    ml_classifier.save(classifier, path)
    assert [p.name for p in path.parent.iterdir()] == ["m.npz"]  # no temp file left
    x = np.random.default_rng(3).normal(0, 0.1, (3, 128))
    np.testing.assert_array_equal(
        ml_classifier.load(path).probabilities(x), classifier.probabilities(x)
    )
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    header = json.loads(arrays["header"].tobytes())
    header["format_version"] = ml_classifier.FORMAT_VERSION + 1
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(ml_classifier.ModelFileError, match="format version"):
        ml_classifier.load(tmp_path / "future.npz")
    (tmp_path / "cut.npz").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ml_classifier.ModelFileError, match="corrupted"):
        ml_classifier.load(tmp_path / "cut.npz")


def test_stratified_split_keeps_every_class_in_training():
    labels = np.array([0, 0, 1, 1, 1, 1, 2, 2, 2, 3])
    train, val = ml_classifier.split_indices(labels, val_share=0.2, seed=0)
    assert set(labels[train]) == {0, 1, 2, 3} and set(labels[val]) == {0, 1, 2}
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(10))


def test_openset_calibrates_from_the_gallery_and_rejects_strangers():
    rng = np.random.default_rng(4)
    centres = rng.normal(0, 1, (6, 128))
    centres *= 0.45 / np.linalg.norm(centres, axis=1, keepdims=True)
    gallery = np.concatenate([c + rng.normal(0, 0.03, (5, 128)) for c in centres[:5]])
    labels = np.repeat(np.arange(5), 5)
    calibration = openset.calibrate(gallery, labels, engine="dlib")
    assert calibration.samples == 25 and calibration.engine == "dlib"
    assert calibration.genuine_mean < calibration.threshold < calibration.impostor_mean
    centroids = ml_classifier.class_centroids(gallery, labels, 5)
    probes = np.stack([centres[2] + rng.normal(0, 0.03, 128), centres[5]])
    probs = np.full((2, 5), 0.01)
    probs[:, 2] = 0.96  # the CNN favours class 2 for both
    known, stranger = openset.decide(probs, probes, centroids, calibration)
    assert known.index == 2 and known.distance < calibration.threshold
    assert stranger.index is None
    assert stranger.distance > calibration.threshold and 0 < stranger.confidence <= 0.96
    # An override moves the distance limit; the answer still carries the same distance.
    loose = openset.decide(probs, probes, centroids, calibration, threshold=10.0)
    assert loose[0].index == 2 and loose[1].distance == stranger.distance


def test_progress_plans_the_early_stopping_horizon_and_ends_full():
    rng = np.random.default_rng(4)
    centres = rng.normal(0, 0.1, (4, 128))
    x = np.repeat(centres, 8, axis=0) + rng.normal(0, 0.02, (32, 128))
    y = np.repeat(np.arange(4), 8)
    reports: list[tuple[int, int]] = []
    result = ml_classifier.train(
        x, y, epochs=300, patience=4, progress=lambda done, planned: reports.append((done, planned))
    )
    assert [done for done, _ in reports] == list(range(1, result.epochs_run + 1))
    assert all(done <= planned <= 300 for done, planned in reports)
    assert result.epochs_run < 300  # stopped early, and the last report says so
    assert reports[-1] == (result.epochs_run, result.epochs_run)
    assert reports[0][1] < 300  # never "epoch 1 of 300" when 1 + patience is the horizon


def test_schedule_sizes_batches_and_patience_to_the_gallery():
    small = ml_classifier.schedule_for(40, epochs=200, patience=20)
    large = ml_classifier.schedule_for(8000, epochs=200, patience=20)
    huge = ml_classifier.schedule_for(80_000, epochs=200, patience=20)
    assert small.batch_size == 16 and small.patience == 20
    assert large.batch_size == 256 and large.patience == 5
    assert huge.batch_size == 512 and huge.patience == 5
    assert all(s.plateau_patience < s.patience for s in (small, large, huge))
    assert (small.epochs, large.epochs, huge.epochs) == (200, 25, 10)  # a sample budget
    assert ml_classifier.schedule_for(10**7, epochs=200, patience=20).epochs == 10
    assert ml_classifier.schedule_for(8000, epochs=200, patience=3).patience == 3


@pytest.mark.parametrize("engine", ["dlib", "opencv"])
def test_openset_priors_are_per_engine_and_a_tiny_gallery_gets_them(engine):
    rng = np.random.default_rng(5)
    one_each = rng.normal(0, 0.1, (3, 128))
    calibration = openset.calibrate(one_each, np.arange(3), engine=engine)
    priors = openset.PRIORS[engine]
    assert (calibration.threshold, calibration.ratio) == (priors.threshold, priors.ratio)
    assert calibration.samples == 0 and calibration.engine == engine
    # A stored calibration without an engine is from before engines existed: dlib.
    legacy = openset.Calibration.from_dict({"threshold": 0.5, "ratio": 0.9})
    assert legacy.engine == "dlib"
    assert openset.Calibration.from_dict(calibration.as_dict()) == calibration
