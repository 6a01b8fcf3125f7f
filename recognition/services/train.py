"""Training: request a job (one at a time), run it, activate a model, roll back.

A request creates a queued TrainedModel and enqueues ``recognition.tasks.train_model``
once the transaction commits. The task calls :func:`model_train`, which counts its
attempts on the row: django-q2's ORM broker re-delivers the task of a worker killed
mid-job without counting (django-q2 issue #327), so the row, not the broker, bounds the
retries. Jobs running longer than FACE_TRAIN_TIMEOUT are marked failed when the next
request or job comes, and by a sweep the cluster runs every five minutes (with the Redis
broker a task lost with its worker is never re-delivered). A new model becomes active
only after its file was written whole and read back; any failure leaves the previous
active model serving.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_q.tasks import async_task

from people.services import User, user_or_none
from recognition.loading import ModelLoadError, load_model
from recognition.ml import classifier as ml_classifier
from recognition.ml import openset
from recognition.models import Embedding, TrainedModel

logger = logging.getLogger(__name__)
Status = TrainedModel.Status
MODELS_DIR = "models"


class TrainingError(Exception):
    """A training that cannot run or did not finish; the message says why."""


class ModelNotActivatable(Exception):
    """Only a succeeded model with a loadable file can be activated."""


@dataclass(frozen=True)
class Gallery:
    """Enrolled embeddings: ``embeddings`` float32 (n, 128), ``labels`` int64 (n,)."""

    embeddings: np.ndarray
    labels: np.ndarray
    label_map: dict[str, dict[str, Any]]
    fingerprint: str


def gallery_fingerprint(embedding_ids: list[int]) -> str:
    """Identifies the set of embeddings a model saw (any photo added or removed changes it)."""
    joined = ",".join(str(i) for i in sorted(embedding_ids))
    return hashlib.sha256(joined.encode()).hexdigest()


def current_fingerprint() -> str:
    return gallery_fingerprint(list(Embedding.objects.values_list("id", flat=True)))


def gallery_load() -> Gallery:
    """Every enrolled embedding, one class per person (ordered by person id)."""
    rows = Embedding.objects.order_by("face_image__person_id", "id").values_list(
        "id", "data", "face_image__person_id", "face_image__person__name"
    )
    ids, vectors, person_ids, names = [], [], [], {}
    for embedding_id, data, person_id, name in rows:
        ids.append(embedding_id)
        vectors.append(np.frombuffer(bytes(data), dtype="<f4"))
        person_ids.append(person_id)
        names[person_id] = name
    order = sorted(names)
    index = {person_id: i for i, person_id in enumerate(order)}
    return Gallery(
        embeddings=np.array(vectors, dtype=np.float32).reshape(-1, 128),
        labels=np.array([index[p] for p in person_ids], dtype=np.int64),
        label_map={str(i): {"person_id": p, "name": names[p]} for i, p in enumerate(order)},
        fingerprint=gallery_fingerprint(ids),
    )


def _lock_requests() -> None:
    """Serialise training requests inside the current transaction."""
    table = TrainedModel._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Conflicts with itself and with row writes, not with plain reads.
            cursor.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
    else:
        # SQLite: a transaction's first write takes the database write lock (waiting up
        # to the configured timeout), so nobody can insert between our check and insert.
        TrainedModel.objects.filter(pk=-1).update(status=Status.QUEUED)


def models_fail_stale(*, exclude: int | None = None) -> int:
    """Mark jobs failed that can no longer finish; returns how many."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.FACE_TRAIN_TIMEOUT)
    timeout = settings.FACE_TRAIN_TIMEOUT
    running = TrainedModel.objects.filter(status=Status.RUNNING, started_at__lt=cutoff)
    queued = TrainedModel.objects.filter(status=Status.QUEUED, requested_at__lt=cutoff)
    if exclude is not None:
        running, queued = running.exclude(pk=exclude), queued.exclude(pk=exclude)
    count = running.update(
        status=Status.FAILED,
        finished_at=now,
        error=f"did not finish within {timeout} s; the worker running it probably died.",
    )
    count += queued.update(
        status=Status.FAILED,
        finished_at=now,
        error=f"was not started within {timeout} s; is the task queue (qcluster) running?",
    )
    return count


def model_train_request(*, requested_by: User = None, enqueue: bool = True) -> TrainedModel:
    """A queued training job, or the one already queued or running (never two).

    ``enqueue=False`` only creates the row (the ``train`` command runs it in-process).
    """
    models_fail_stale()
    with transaction.atomic():
        _lock_requests()
        current = (
            TrainedModel.objects.filter(status__in=[Status.QUEUED, Status.RUNNING])
            .order_by("id")
            .first()
        )
        if current is not None:
            return current
        model = TrainedModel.objects.create(requested_by=user_or_none(requested_by))
        if enqueue:
            model_id = model.pk
            transaction.on_commit(lambda: _enqueue(model_id))
    return model


def _enqueue(model_id: int) -> None:
    async_task(
        "recognition.tasks.train_model",
        model_id,
        task_name=f"train-model-{model_id}",
        group="training",
    )


def _start(model_id: int) -> TrainedModel:
    """Claim the job: running, one more attempt; or fail it when attempts are used up."""
    with transaction.atomic():
        model = TrainedModel.objects.select_for_update().get(pk=model_id)
        if model.is_finished:
            return model
        if model.attempts >= settings.FACE_TRAIN_MAX_ATTEMPTS:
            model.status = Status.FAILED
            model.finished_at = timezone.now()
            model.error = (
                f"gave up after {model.attempts} attempts: the worker running this "
                "training stopped before it finished (killed or out of memory?)."
            )
            model.save(update_fields=["status", "finished_at", "error"])
            return model
        model.status = Status.RUNNING
        model.attempts += 1
        model.started_at = timezone.now()
        model.epoch = 0
        model.epochs = settings.FACE_TRAIN_EPOCHS
        model.error = ""
        model.save(update_fields=["status", "attempts", "started_at", "epoch", "epochs", "error"])
        return model


def _fail(model_id: int, message: str) -> None:
    TrainedModel.objects.filter(pk=model_id, status=Status.RUNNING).update(
        status=Status.FAILED, finished_at=timezone.now(), error=message[:5000]
    )


def _progress_writer(model_id: int) -> Callable[[int, int], None]:
    last = [0.0]

    def write(epoch: int, epochs: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or epoch == epochs:  # a row write per epoch is wasteful
            last[0] = now
            TrainedModel.objects.filter(pk=model_id).update(epoch=epoch, epochs=epochs)

    return write


def _check_enough(gallery: Gallery) -> None:
    counts = np.bincount(gallery.labels) if len(gallery.labels) else np.zeros(0, dtype=int)
    ready = int((counts >= 2).sum())
    if ready < 2:
        raise TrainingError(
            "Training needs at least two people with at least two photos each; "
            f"the gallery has {len(counts)} people, {ready} of them with two or more photos."
        )


def model_train(*, model_id: int) -> TrainedModel:
    """Run the job ``model_id`` in this process and activate the result.

    Raises TrainingError (the row is then failed, the active model unchanged).
    Returns a finished row unchanged when the job had already finished (re-delivery).
    """
    models_fail_stale(exclude=model_id)
    model = _start(model_id)
    if model.status == Status.FAILED:
        raise TrainingError(f"model #{model.pk}: {model.error}")
    if model.status != Status.RUNNING:
        return model
    written: Path | None = None
    try:
        gallery = gallery_load()
        _check_enough(gallery)
        result = ml_classifier.train(
            gallery.embeddings,
            gallery.labels,
            epochs=settings.FACE_TRAIN_EPOCHS,
            patience=settings.FACE_TRAIN_PATIENCE,
            progress=_progress_writer(model.pk),
        )
        calibration = openset.calibrate(gallery.embeddings, gallery.labels)
        relative = f"{MODELS_DIR}/model-{model.pk}-{uuid.uuid4().hex[:8]}.npz"
        written = Path(settings.MEDIA_ROOT) / relative
        ml_classifier.save(result.classifier, written)
        ml_classifier.load(written)  # activate only what reads back whole
        activated = _activate_new(model, gallery, result, calibration, relative)
    except TrainingError as exc:
        _discard(written)
        _fail(model.pk, str(exc))
        raise
    except Exception as exc:
        _discard(written)
        logger.exception("training model #%s failed", model.pk)
        _fail(model.pk, f"training failed: {exc}")
        raise TrainingError(f"training failed: {exc}") from exc
    models_prune()
    return activated


def _metrics(
    gallery: Gallery, result: ml_classifier.TrainResult, calibration: openset.Calibration
) -> dict[str, Any]:
    per_person = {}
    for index, scores in result.per_class.items():
        entry = gallery.label_map[str(index)]
        per_person[str(entry["person_id"])] = {"name": entry["name"], **scores}
    return {
        "val_accuracy": result.val_accuracy,
        "per_person": per_person,
        "history": result.history,
        "train_seconds": round(result.seconds, 3),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "calibration": calibration.as_dict(),
        "gallery_fingerprint": gallery.fingerprint,
    }


def _activate_new(
    model: TrainedModel,
    gallery: Gallery,
    result: ml_classifier.TrainResult,
    calibration: openset.Calibration,
    relative: str,
) -> TrainedModel:
    with transaction.atomic():
        row = TrainedModel.objects.select_for_update().get(pk=model.pk)
        if row.status != Status.RUNNING or row.attempts != model.attempts:
            raise TrainingError(
                f"model #{model.pk} was taken over or stopped while training ({row.status})."
            )
        TrainedModel.objects.filter(is_active=True).exclude(pk=row.pk).update(is_active=False)
        row.status = Status.SUCCEEDED
        row.finished_at = timezone.now()
        row.file = relative
        row.format_version = ml_classifier.FORMAT_VERSION
        row.label_map = gallery.label_map
        row.people_count = len(gallery.label_map)
        row.embedding_count = len(gallery.labels)
        row.metrics = _metrics(gallery, result, calibration)
        row.epoch = result.epochs_run
        row.is_active = True
        row.save()
    return row


def _discard(path: Path | None) -> None:
    if path is not None:
        path.unlink(missing_ok=True)


def models_prune() -> list[int]:
    """Remove the files of succeeded models beyond FACE_MODELS_KEEP (never the active one).

    The rows stay (history, audit); their ``file`` is cleared. Returns their ids.
    """
    keep = max(1, settings.FACE_MODELS_KEEP)
    with_files = TrainedModel.objects.exclude(file="").order_by("-finished_at", "-id")
    pruned = []
    for model in list(with_files)[keep:]:
        if model.is_active:
            continue
        (Path(settings.MEDIA_ROOT) / model.file).unlink(missing_ok=True)
        TrainedModel.objects.filter(pk=model.pk).update(file="")
        pruned.append(model.pk)
    return pruned


def model_activate(*, model: TrainedModel) -> TrainedModel:
    """Make an earlier model the active one (rollback)."""
    model.refresh_from_db()
    if model.status != Status.SUCCEEDED:
        raise ModelNotActivatable(
            f"model #{model.pk} is {model.status}; only a model whose training succeeded "
            "can be activated."
        )
    try:
        load_model(model)
    except ModelLoadError as exc:
        raise ModelNotActivatable(str(exc)) from exc
    with transaction.atomic():
        _lock_requests()
        TrainedModel.objects.filter(is_active=True).exclude(pk=model.pk).update(is_active=False)
        TrainedModel.objects.filter(pk=model.pk).update(is_active=True)
    model.refresh_from_db()
    return model


def model_train_request_if_trained(*, requested_by: User = None) -> TrainedModel | None:
    """Queue a retrain after the gallery shrank, but only once a model exists."""
    if not TrainedModel.objects.filter(status=Status.SUCCEEDED).exists():
        return None
    return model_train_request(requested_by=requested_by)
