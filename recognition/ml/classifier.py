"""The Keras CNN over 128-d face embeddings: build, train, save, load, classify.

Pure: numpy arrays and paths in and out; no Django.

Training uses Keras (TensorFlow). Serving does not: the trained weights are exported to
numpy and the forward pass (Conv1D -> MaxPooling1D -> Conv1D -> MaxPooling1D -> Dense
-> softmax) runs in numpy, so the process answering requests never imports TensorFlow
and a classification costs tens of microseconds instead of Keras ``predict()``'s ~100 ms.

File format (``FORMAT_VERSION``): an ``.npz`` (loaded with ``allow_pickle=False``, so a
file cannot execute code) holding the weights, the input normalisation, the per-person
centroids used by the open-set rule, and a JSON header with the format version, the
architecture and a SHA-256 of every array. Loading refuses another format version or a
file whose arrays do not match their checksums. Files are written atomically.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recognition.ml import Progress
from recognition.ml.faces import EMBEDDING_DIM

FORMAT_VERSION = 1

# Layer sizes; stored in the file header, so a change here needs no format bump.
ARCHITECTURE: dict[str, Any] = {
    "conv": [[32, 5], [64, 3]],  # [filters, kernel] of each Conv1D, each followed by pool 2
    "dense": 128,
    # Training only (the numpy forward pass has no dropout). 0.5, not 0.3: with ~8
    # training embeddings per person the network overfits; measured on 1,000 synthetic
    # people, validation accuracy 0.854 vs 0.842 after 60 epochs.
    "dropout": 0.5,
}


class ModelFileError(Exception):
    """A model file that cannot be used: missing, corrupted or of another format version."""


@dataclass
class Classifier:
    """Numpy weights of the trained CNN.

    ``weights``: ordered list of arrays [conv1 kernel, conv1 bias, conv2 kernel, ...,
    dense kernel, dense bias, output kernel, output bias] (float32);
    ``mean``/``scale``: float32 (128,) input normalisation; ``centroids``: float32
    (n_classes, 128) mean enrolled embedding of each class.
    """

    weights: list[np.ndarray]
    mean: np.ndarray
    scale: np.ndarray
    centroids: np.ndarray
    architecture: dict[str, Any] = field(default_factory=lambda: dict(ARCHITECTURE))

    @property
    def n_classes(self) -> int:
        return int(self.weights[-1].shape[0])

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """float (n, 128) -> float32 (n, n_classes) softmax probabilities."""
        x = np.asarray(embeddings, dtype=np.float32).reshape(-1, EMBEDDING_DIM) - self.mean
        x = (x / self.scale)[:, :, None]  # (n, 128, 1)
        w = iter(self.weights)
        for _filters, kernel in self.architecture["conv"]:
            x = _max_pool(np.maximum(_conv1d_same(x, next(w), next(w), kernel), 0.0))
        x = x.reshape(x.shape[0], -1)
        x = np.maximum(x @ next(w) + next(w), 0.0)
        logits = x @ next(w) + next(w)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


@dataclass
class TrainResult:
    classifier: Classifier
    history: dict[str, list[float]]
    val_accuracy: float
    # class index -> {"precision", "recall", "support"} on the validation split
    per_class: dict[int, dict[str, float]]
    seconds: float
    epochs_run: int
    best_epoch: int


def _conv1d_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, size: int) -> np.ndarray:
    """Keras Conv1D(padding="same", stride 1): x (n, L, cin), kernel (k, cin, cout).

    One gather of every window and one matrix product; ~2x faster than np.pad with
    sliding_window_view, which cost more than the arithmetic (this runs on every face).
    """
    n, length, cin = x.shape
    left = (size - 1) // 2
    padded = np.zeros((n, length + size - 1, cin), dtype=x.dtype)
    padded[:, left : left + length] = x
    windows = padded[:, _window_index(length, size)]  # (n, L, k, cin)
    return (windows.reshape(n * length, size * cin) @ kernel.reshape(size * cin, -1)).reshape(
        n, length, -1
    ) + bias


@functools.cache
def _window_index(length: int, size: int) -> np.ndarray:
    """(length, size): the padded positions each output position's window reads."""
    return np.arange(length)[:, None] + np.arange(size)[None, :]


def _max_pool(x: np.ndarray) -> np.ndarray:
    """Keras MaxPooling1D(2), padding "valid": (n, L, c) -> (n, L // 2, c)."""
    half = x.shape[1] // 2
    return x[:, : half * 2].reshape(x.shape[0], half, 2, x.shape[2]).max(axis=2)


def build_keras(n_classes: int, architecture: dict[str, Any] | None = None) -> Any:
    """The Keras model (no bottleneck: the last hidden layer is wide, then the softmax)."""
    # Imported lazily: TensorFlow must never load at start-up, and django-q2 forks its
    # workers (Keras initialised in the parent makes training in a forked child hang).
    import keras
    from keras import layers

    arch = architecture or ARCHITECTURE
    inputs = keras.Input(shape=(EMBEDDING_DIM,))
    x = layers.Reshape((EMBEDDING_DIM, 1))(inputs)
    for filters, kernel in arch["conv"]:
        x = layers.Conv1D(filters, kernel, padding="same", activation="relu")(x)
        x = layers.MaxPooling1D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(arch["dropout"])(x)
    x = layers.Dense(arch["dense"], activation="relu")(x)
    x = layers.Dropout(arch["dropout"])(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def split_indices(
    labels: np.ndarray, *, val_share: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, validation) indices; classes with one sample stay in training."""
    from sklearn.model_selection import train_test_split  # lazily: needed only to train

    counts = np.bincount(labels)
    multi = np.flatnonzero(counts[labels] >= 2)
    single = np.flatnonzero(counts[labels] < 2)
    n_multi_classes = int((counts >= 2).sum())
    n_val = min(max(round(len(multi) * val_share), n_multi_classes), len(multi) - n_multi_classes)
    train_idx, val_idx = train_test_split(
        multi, test_size=n_val, stratify=labels[multi], random_state=seed
    )
    return np.sort(np.concatenate([train_idx, single])), np.sort(val_idx)


@dataclass(frozen=True)
class Schedule:
    """Training sizes for a gallery (see :func:`schedule_for`)."""

    batch_size: int
    patience: int
    plateau_patience: int
    epochs: int


# Adam's step size, cut by PLATEAU_FACTOR whenever the validation loss stalls. Small,
# because training starts from imprinted output weights (see _imprint), not from noise.
LEARNING_RATE = 1e-3
PLATEAU_FACTOR = 0.3
# Training examples seen per run at most (epochs x training embeddings): 25 epochs at
# 1,000 people x 8, 10 at 10,000 x 8, so a big gallery trains in minutes, not hours;
# never fewer than MIN_EPOCHS, never more than asked for.
SAMPLE_EPOCH_BUDGET = 200_000
MIN_EPOCHS = 10
# Logit scale of the imprinted output layer (see _imprint).
IMPRINT_TEMPERATURE = 10.0
# Batches run per call into TensorFlow: one call per batch costs more in Python than the
# batch itself for a network this small.
STEPS_PER_EXECUTION = 16


def schedule_for(n_train: int, *, epochs: int, patience: int) -> Schedule:
    """Batch size, patience and most epochs sized to ``n_train`` training embeddings.

    Batches grow with the gallery (16 to 512; more steps per epoch for a small gallery,
    fewer, larger ones for a big one), and each epoch of a big gallery costs more and
    already makes more updates, so the early-stopping patience shrinks from ``patience``
    (up to 2,000 training embeddings) in proportion, to 5 epochs at 8,000 and more (with
    the default 20). The learning rate is cut after a third of that without progress.
    At most SAMPLE_EPOCH_BUDGET / n_train epochs run (and at most ``epochs``).
    """
    batch = int(2 ** round(np.log2(max(n_train, 1) / 32)))
    batch = max(16, min(512, batch))
    scaled = round(patience * 2000 / max(n_train, 1))
    patience_now = max(min(5, patience), min(patience, scaled))
    budget = max(MIN_EPOCHS, round(SAMPLE_EPOCH_BUDGET / max(n_train, 1)))
    return Schedule(
        batch_size=batch,
        patience=patience_now,
        plateau_patience=max(2, patience_now // 3),
        epochs=min(epochs, budget),
    )


class _Horizon:
    """Progress that tells the truth under early stopping.

    Reports (epochs done, planned) with planned = the epoch at which early stopping
    will end the run if the validation loss does not improve again (last improvement +
    patience, the rule Keras's EarlyStopping applies), never more than the most epochs.
    The last report of a run therefore has planned == done: the bar ends full.
    """

    def __init__(self, progress: Progress, *, epochs: int, patience: int) -> None:
        self.progress, self.epochs, self.patience = progress, epochs, patience
        self.best = np.inf
        self.best_epoch = 0

    def epoch_end(self, epoch: int, logs: dict[str, float] | None) -> None:
        done = epoch + 1
        loss = (logs or {}).get("val_loss", np.inf)
        if loss < self.best - 1e-3:
            self.best, self.best_epoch = loss, done
        self.progress(done, min(self.epochs, max(done, self.best_epoch + self.patience)))


def _imprint(model: Any, x: np.ndarray, y: np.ndarray, n_classes: int) -> None:
    """Start the output layer as a nearest-class-mean classifier over the hidden features.

    A softmax layer learning 1,000-10,000 classes from random weights with ~8 examples
    each needs hundreds of epochs (measured: 154 epochs for 1,000 people, and 10,000
    people had learnt nothing after 7). Imprinting sets class c's weights to its mean
    hidden feature m_c (logit 2 f.m_c - |m_c|^2, i.e. minus the squared distance up to a
    constant), so training starts above 60% validation accuracy and refines from there.
    ``x`` float32 (n, 128) normalised training inputs, ``y`` int (n,).
    """
    import keras

    features = keras.Model(model.inputs, model.layers[-2].output)
    f = np.asarray(features.predict(x, batch_size=4096, verbose=0), dtype=np.float64)
    sums = np.zeros((n_classes, f.shape[1]))
    np.add.at(sums, y, f)
    means = sums / np.maximum(np.bincount(y, minlength=n_classes), 1)[:, None]
    scale = IMPRINT_TEMPERATURE / max(float((f * f).sum(axis=1).mean()), 1e-6)
    kernel = (2 * scale * means.T).astype(np.float32)
    bias = (-scale * (means * means).sum(axis=1)).astype(np.float32)
    model.layers[-1].set_weights([kernel, bias])


def train(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    patience: int,
    progress: Progress | None = None,
    val_share: float = 0.2,
    seed: int = 0,
) -> TrainResult:
    """Train on ``embeddings`` float (n, 128) with ``labels`` int (n,) in [0, n_classes).

    Every class needs at least one sample; classes with two or more are split stratified
    into training and validation. Batch size, patience and most epochs follow the
    gallery's size (:func:`schedule_for`); the output layer starts imprinted with the
    class means (:func:`_imprint`); the step size drops when the validation loss stalls,
    and early stopping on it restores the best weights; class weights balance uneven
    photo counts.
    """
    import keras  # lazily, see build_keras
    from sklearn.metrics import precision_recall_fscore_support

    started = time.monotonic()
    x = np.asarray(embeddings, dtype=np.float32)
    y = np.asarray(labels, dtype=np.int64)
    n_classes = int(y.max()) + 1
    keras.utils.set_random_seed(seed)
    train_idx, val_idx = split_indices(y, val_share=val_share, seed=seed)
    plan = schedule_for(len(train_idx), epochs=epochs, patience=patience)
    mean = x[train_idx].mean(axis=0)
    scale = np.maximum(x[train_idx].std(axis=0), 1e-3).astype(np.float32)
    xn = (x - mean) / scale
    counts = np.bincount(y[train_idx], minlength=n_classes)
    class_weight = {c: len(train_idx) / (n_classes * max(int(n), 1)) for c, n in enumerate(counts)}

    callbacks: list[Any] = [
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss",
            factor=PLATEAU_FACTOR,
            patience=plan.plateau_patience,
            min_delta=1e-3,
        ),
        keras.callbacks.EarlyStopping(
            monitor="val_loss", min_delta=1e-3, patience=plan.patience, restore_best_weights=True
        ),
    ]
    if progress is not None:
        horizon = _Horizon(progress, epochs=plan.epochs, patience=plan.patience)
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=horizon.epoch_end))
    model = build_keras(n_classes)
    _imprint(model, xn[train_idx], y[train_idx], n_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    fit = model.fit(
        xn[train_idx],
        y[train_idx],
        validation_data=(xn[val_idx], y[val_idx]),
        epochs=plan.epochs,
        batch_size=plan.batch_size,
        class_weight=class_weight,
        callbacks=callbacks,
        verbose=0,
    )
    history = {
        key: [float(v) for v in values]
        for key, values in fit.history.items()
        if key != "learning_rate"
    }
    classifier = Classifier(
        weights=[np.asarray(w, dtype=np.float32) for w in model.get_weights()],
        mean=mean.astype(np.float32),
        scale=scale,
        centroids=class_centroids(x, y, n_classes),
    )
    predicted = classifier.probabilities(x[val_idx]).argmax(axis=1)
    precision, recall, _f, support = precision_recall_fscore_support(
        y[val_idx], predicted, labels=list(range(n_classes)), zero_division=0
    )
    per_class = {
        c: {
            "precision": float(precision[c]),
            "recall": float(recall[c]),
            "support": int(support[c]),
        }
        for c in range(n_classes)
    }
    val_loss = history.get("val_loss", [0.0])
    return TrainResult(
        classifier=classifier,
        history=history,
        val_accuracy=float((predicted == y[val_idx]).mean()) if len(val_idx) else 0.0,
        per_class=per_class,
        seconds=time.monotonic() - started,
        epochs_run=len(val_loss),
        best_epoch=int(np.argmin(val_loss)) + 1,
    )


def class_centroids(embeddings: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Mean embedding of each class: float32 (n_classes, 128)."""
    sums = np.zeros((n_classes, EMBEDDING_DIM), dtype=np.float64)
    np.add.at(sums, labels, embeddings)
    return (sums / np.bincount(labels, minlength=n_classes)[:, None]).astype(np.float32)


def _arrays(classifier: Classifier) -> dict[str, np.ndarray]:
    arrays = {f"w{i}": w for i, w in enumerate(classifier.weights)}
    arrays.update(mean=classifier.mean, scale=classifier.scale, centroids=classifier.centroids)
    return arrays


def _checksum(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def dumps(classifier: Classifier) -> bytes:
    """The model file's bytes (see the module docstring for the format)."""
    arrays = _arrays(classifier)
    header = {
        "format_version": FORMAT_VERSION,
        "architecture": classifier.architecture,
        "n_weights": len(classifier.weights),
        "checksums": {name: _checksum(a) for name, a in arrays.items()},
    }
    buffer = io.BytesIO()
    payload: dict[str, Any] = {
        "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        **arrays,
    }
    np.savez(buffer, **payload)
    return buffer.getvalue()


def save(classifier: Classifier, path: Path) -> None:
    """Write ``classifier`` to ``path`` atomically: temp file in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dumps(classifier)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def load(path: Path) -> Classifier:
    """Read a file written by :func:`save`, or raise ModelFileError saying what is wrong."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"model file {path} does not exist") from None
    except OSError as exc:
        raise ModelFileError(f"model file {path} cannot be read: {exc}") from None
    return loads(data, name=str(path))


def loads(data: bytes, *, name: str = "model file") -> Classifier:
    """Read the bytes :func:`dumps` wrote, or raise ModelFileError saying what is wrong."""
    path = name
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ModelFileError(f"model file {path} is corrupted or not a model file: {exc}") from None
    try:
        header = json.loads(arrays.pop("header").tobytes().decode())
    except (KeyError, ValueError, UnicodeDecodeError):
        raise ModelFileError(f"model file {path} has no readable header") from None
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"model file {path} has format version {version}; this version of the software "
            f"reads version {FORMAT_VERSION}. Train a new model."
        )
    checksums = header.get("checksums", {})
    if set(checksums) != set(arrays) or any(
        _checksum(a) != checksums[n] for n, a in arrays.items()
    ):
        raise ModelFileError(f"model file {path} is corrupted (checksum mismatch)")
    return Classifier(
        weights=[arrays[f"w{i}"] for i in range(int(header["n_weights"]))],
        mean=arrays["mean"],
        scale=arrays["scale"],
        centroids=arrays["centroids"],
        architecture=header["architecture"],
    )
