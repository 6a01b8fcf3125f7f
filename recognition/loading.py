"""The active model, loaded once per process and reused.

The cache is keyed on (model id, file). The active model's id and file are read from
the database at most every ``ACTIVE_RECHECK_SECONDS`` per process (its whole record
only when they change), and at once after an activation in this process, so activating
another model takes effect within that interval in every process on every machine
that shares the database and the storage, without a restart.
Loading needs numpy only (no TensorFlow). Files are read through Django's storage API
(recognition.model_files).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from recognition.ml import classifier as ml_classifier
from recognition.ml import search
from recognition.ml.openset import Calibration
from recognition.model_files import model_file_read
from recognition.models import TrainedModel
from recognition.selectors import model_active, model_active_key


class NoActiveModel(Exception):
    """No model can answer: none was trained yet (HTTP 409)."""

    def __init__(self, message: str = "no model has been trained yet") -> None:
        super().__init__(message)


class ModelLoadError(NoActiveModel):
    """The active model's file cannot be used (wrong format version, corrupted, missing).

    A subclass of NoActiveModel so every caller that handles "no model" (the API's 409)
    also handles this without crashing; the message says what is wrong.
    """


@dataclass(frozen=True)
class LoadedModel:
    record: TrainedModel
    classifier: ml_classifier.Classifier
    calibration: Calibration
    person_ids: np.ndarray  # int64 (n_classes,): output index -> person id
    # int64 (n_classes,): enrolled photos of each person when trained; None for models
    # trained before the label map counted them (the CNN's veto then applies to everyone)
    class_photos: np.ndarray | None
    engine: str  # the face engine of the embeddings it was trained on
    engine_version: str


# How long a process answers with the active model it last read before asking the
# database again: one query per interval instead of one per request, and another
# process's activation (a rollback, a training) reaches every server within it.
ACTIVE_RECHECK_SECONDS = 0.25

_lock = threading.Lock()
_cache: dict[tuple[int, str], LoadedModel] = {}
_index_cache: dict[tuple[int, str], search.PhotoIndex] = {}
_active_read_at = -float("inf")  # time.monotonic() of the last read of the active key


def load_model(record: TrainedModel) -> LoadedModel:
    """Read ``record``'s file (no cache); ModelLoadError when it cannot be used."""
    if not record.file:
        raise ModelLoadError(f"model #{record.pk} has no file (it was removed or never written)")
    try:
        classifier = ml_classifier.loads(model_file_read(name=record.file), name=record.file)
    except FileNotFoundError:
        raise ModelLoadError(
            f"model #{record.pk} cannot be used: model file {record.file} does not exist"
        ) from None
    except ml_classifier.ModelFileError as exc:
        raise ModelLoadError(f"model #{record.pk} cannot be used: {exc}") from exc
    try:
        person_ids = np.array(
            [int(record.label_map[str(i)]["person_id"]) for i in range(classifier.n_classes)],
            dtype=np.int64,
        )
    except (KeyError, TypeError, ValueError):
        raise ModelLoadError(f"model #{record.pk}: its label map does not match its file") from None
    entries = [record.label_map[str(i)] for i in range(classifier.n_classes)]
    class_photos = None
    if all(isinstance(entry.get("photos"), int) for entry in entries):
        class_photos = np.array([entry["photos"] for entry in entries], dtype=np.int64)
    calibration_data = (record.metrics or {}).get("calibration")
    if not calibration_data:
        raise ModelLoadError(f"model #{record.pk} has no open-set calibration; train a new one")
    calibration = Calibration.from_dict(calibration_data)
    # Models trained before engines were recorded are dlib ones (migration 0003).
    engine = record.engine or calibration.engine
    return LoadedModel(
        record,
        classifier,
        calibration,
        person_ids,
        class_photos,
        engine,
        record.engine_version or "",
    )


def active_model() -> LoadedModel:
    """The active model, from the per-process cache; NoActiveModel / ModelLoadError."""
    global _active_read_at
    with _lock:
        if time.monotonic() - _active_read_at < ACTIVE_RECHECK_SECONDS and _cache:
            return next(iter(_cache.values()))
    while True:
        read_at = time.monotonic()
        key = model_active_key()
        if key is None:
            raise NoActiveModel()
        with _lock:
            cached = _cache.get(key)
            if cached is None:
                record = model_active()
                if record is None or (record.pk, record.file) != key:
                    continue  # another model was activated between the two reads: ask again
                cached = load_model(record)
                _cache.clear()  # one model in memory per process
                _cache[key] = cached
            _active_read_at = read_at
            return cached


def active_model_changed() -> None:
    """Another model is active: this process reads which at its next request."""
    global _active_read_at
    with _lock:
        _active_read_at = -float("inf")


def photo_index(record: TrainedModel) -> search.PhotoIndex:
    """The nearest-photo index stored with ``record`` (ids: FaceImage ids), loaded once per
    process on first use (not at start: explanations need it, answers do not).

    ModelLoadError when the model has none (trained before indexes existed) or it
    cannot be read.
    """
    name = (record.metrics or {}).get("search_index", "")
    if not name:
        raise ModelLoadError(f"model #{record.pk} has no search index; train a new model")
    key = (record.pk, name)
    with _lock:
        index = _index_cache.get(key)
        if index is None:
            try:
                index = search.loads(model_file_read(name=name))
            except FileNotFoundError:
                raise ModelLoadError(f"search index {name} does not exist") from None
            except search.IndexFileError as exc:
                raise ModelLoadError(f"model #{record.pk}: {exc}") from exc
            _index_cache.clear()
            _index_cache[key] = index
    return index


def cache_clear() -> None:
    global _active_read_at
    with _lock:
        _cache.clear()
        _index_cache.clear()
        _active_read_at = -float("inf")
