"""Training: request a job (one at a time), run it, activate its result.

A request creates a queued TrainedModel and enqueues ``recognition.tasks.train_model``
once the transaction commits. The task calls :func:`model_train`, which counts its
attempts on the row: django-q2's ORM broker re-delivers the task of a worker killed
mid-job without counting (django-q2 issue #327), so the row, not the broker, bounds the
retries. The worker writes a heartbeat on the row (recognition.services.heartbeat); a
running job silent for FACE_TRAIN_HEARTBEAT seconds, or older than FACE_TRAIN_TIMEOUT,
is marked failed when the next request or job comes, and by a sweep the cluster runs
every minute (with the Redis broker a task lost with its worker is never re-delivered).
A model holding a person deleted while it trained is not activated. A new model becomes active
only after its file was written whole and read back; any failure leaves the previous
active model serving. Reading the gallery is recognition.selectors' job; activation
and pruning are recognition.services.activation's.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.users import User, user_or_none
from recognition.ml import Progress, openset, search
from recognition.ml import classifier as ml_classifier
from recognition.model_files import MODELS_DIR, model_file_delete, model_file_read, model_file_write
from recognition.models import TrainedModel
from recognition.review_selectors import encoder_name, review_negatives
from recognition.selectors import (
    MIN_PEOPLE_TO_TRAIN,
    MIN_PHOTOS_PER_PERSON,
    Gallery,
    gallery_load,
    gallery_training_blocker,
    model_training_current,
    training_blocker_message,
)
from recognition.services.activation import model_make_active, models_prune, trained_models_lock
from recognition.services.erasure import model_holds_deleted_people, models_purge_deleted
from recognition.services.heartbeat import training_heartbeat
from recognition.training_lock import TrainingBusy, training_exclusive

logger = logging.getLogger(__name__)
Status = TrainedModel.Status


class TrainingError(Exception):
    """A training that cannot run or did not finish; the message says why."""


class PeopleDeletedWhileTraining(TrainingError):
    """The finished model holds people deleted meanwhile; it is not activated."""


class GalleryTooSmall(TrainingError):
    """Refused before any job is created: too few people or photos to train on."""


def models_fail_stale(*, exclude: int | None = None) -> int:
    """Mark jobs failed that can no longer finish; returns how many.

    A running job is dead when its worker has been silent for FACE_TRAIN_HEARTBEAT
    seconds (killed, out of memory), or when it ran past FACE_TRAIN_TIMEOUT.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.FACE_TRAIN_TIMEOUT)
    timeout = settings.FACE_TRAIN_TIMEOUT
    silence = settings.FACE_TRAIN_HEARTBEAT
    silent_since = now - timedelta(seconds=silence)
    running = TrainedModel.objects.filter(status=Status.RUNNING)
    overdue = running.filter(started_at__lt=cutoff)
    silent = running.filter(
        Q(heartbeat_at__lt=silent_since) | Q(heartbeat_at__isnull=True, started_at__lt=silent_since)
    )
    queued = TrainedModel.objects.filter(status=Status.QUEUED, requested_at__lt=cutoff)
    if exclude is not None:
        overdue, silent = overdue.exclude(pk=exclude), silent.exclude(pk=exclude)
        queued = queued.exclude(pk=exclude)
    count = overdue.update(
        status=Status.FAILED,
        finished_at=now,
        error=f"did not finish within {timeout} s; the worker running it probably died.",
    )
    count += silent.update(
        status=Status.FAILED,
        finished_at=now,
        error=f"its worker sent no heartbeat for {silence} s: it was stopped or killed "
        "(out of memory?). Request a new training.",
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
    Raises GalleryTooSmall, creating nothing, when the gallery cannot be trained: a job
    that could only fail would stay in the model history for ever.
    """
    models_fail_stale()
    blocker = gallery_training_blocker()
    if blocker is not None and model_training_current() is None:
        raise GalleryTooSmall(blocker)
    with transaction.atomic():
        trained_models_lock()
        current = model_training_current()
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
        model.started_at = model.heartbeat_at = timezone.now()
        model.epoch = 0
        model.epochs = settings.FACE_TRAIN_EPOCHS
        model.error = ""
        model.save(
            update_fields=[
                "status",
                "attempts",
                "started_at",
                "heartbeat_at",
                "epoch",
                "epochs",
                "error",
            ]
        )
        return model


def _fail(model_id: int, message: str) -> None:
    TrainedModel.objects.filter(pk=model_id, status=Status.RUNNING).update(
        status=Status.FAILED, finished_at=timezone.now(), error=message[:5000]
    )


def _progress_writer(model_id: int) -> Progress:
    last = [0.0]

    def write(epoch: int, epochs: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or epoch == epochs:  # a row write per epoch is wasteful
            last[0] = now
            TrainedModel.objects.filter(pk=model_id).update(
                epoch=epoch, epochs=epochs, heartbeat_at=timezone.now()
            )

    return write


def _check_one_engine(gallery: Gallery) -> None:
    """Vectors of different engines (or versions) mean nothing to each other: refuse."""
    if len(gallery.spaces) > 1:
        found = ", ".join(
            f"{count} {engine} ({version})" for engine, version, count in gallery.spaces
        )
        raise TrainingError(
            f"The enrolled photos have embeddings of more than one face engine ({found}), "
            "which cannot be compared. Run `.venv/bin/python manage.py reembed` (or the "
            'admin\'s "Re-embed every photo" button) to embed every photo with '
            f"FACE_ENGINE={settings.FACE_ENGINE}, then train."
        )


def _check_enough(gallery: Gallery) -> None:
    counts = np.bincount(gallery.labels) if len(gallery.labels) else np.zeros(0, dtype=int)
    ready = int((counts >= MIN_PHOTOS_PER_PERSON).sum())
    if ready < MIN_PEOPLE_TO_TRAIN:
        # The request checks this too; the gallery may have shrunk since.
        raise GalleryTooSmall(training_blocker_message(people=len(counts), ready=ready))


def model_train(*, model_id: int) -> TrainedModel:
    """Run the job ``model_id`` in this process and activate the result.

    Raises TrainingError (the row is then failed, the active model unchanged).
    Returns a finished row unchanged when the job had already finished (re-delivery).
    Never runs while another process trains (recognition.training_lock): a second
    delivery of the same job waits, then finds it finished.
    """
    try:
        with training_exclusive(wait=settings.FACE_TRAIN_TIMEOUT):
            return _train_exclusively(model_id)
    except TrainingBusy as exc:
        raise TrainingError(f"model #{model_id} not started: {exc}") from exc


def _train_exclusively(model_id: int) -> TrainedModel:
    models_fail_stale(exclude=model_id)
    model = _start(model_id)
    if model.status == Status.FAILED:
        raise TrainingError(f"model #{model.pk}: {model.error}")
    if model.status != Status.RUNNING:
        return model
    try:
        with training_heartbeat(model_id=model.pk):
            activated = _train_and_activate(model)
    except PeopleDeletedWhileTraining as exc:
        _fail(model.pk, str(exc))
        model_train_request()  # now that this one failed, a new one is queued
        raise
    except TrainingError as exc:
        _fail(model.pk, str(exc))
        raise
    except Exception as exc:
        logger.exception("training model #%s failed", model.pk)
        _fail(model.pk, f"training failed: {exc}")
        raise TrainingError(f"training failed: {exc}") from exc
    models_prune()
    models_purge_deleted()
    return activated


def _train_and_activate(model: TrainedModel) -> TrainedModel:
    """Train on the gallery, write the files, activate; the files are removed on failure."""
    written: list[str] = []
    try:
        gallery = gallery_load()
        _check_one_engine(gallery)
        _check_enough(gallery)
        result = ml_classifier.train(
            gallery.embeddings,
            gallery.labels,
            epochs=settings.FACE_TRAIN_EPOCHS,
            patience=settings.FACE_TRAIN_PATIENCE,
            progress=_progress_writer(model.pk),
        )
        calibration = openset.calibrate(gallery.embeddings, gallery.labels, engine=gallery.engine)
        person_limits = _person_limits(gallery, result.classifier.centroids, calibration)
        stem = f"{MODELS_DIR}/model-{model.pk}-{uuid.uuid4().hex[:8]}"
        relative = model_file_write(name=f"{stem}.npz", data=ml_classifier.dumps(result.classifier))
        written.append(relative)
        # The nearest-photo index, rebuilt with every model and stored beside it.
        index = search.build(gallery.embeddings, gallery.photo_ids, gallery.labels)
        index_name = model_file_write(name=f"{stem}.index.npz", data=search.dumps(index))
        written.append(index_name)
        # Activate only what reads back whole.
        ml_classifier.loads(model_file_read(name=relative), name=relative)
        search.loads(model_file_read(name=index_name))
        return _succeed(model, gallery, result, calibration, relative, index_name, person_limits)
    except BaseException:
        _discard(written)
        raise


def _person_limits(
    gallery: Gallery, centroids: np.ndarray, calibration: openset.Calibration
) -> dict[str, float]:
    """Distance limits of people tightened by "not this person" corrections (by person id)."""
    person_ids = [int(gallery.label_map[str(i)]["person_id"]) for i in range(len(centroids))]
    encoder = encoder_name(gallery.engine, gallery.engine_version)
    negatives = review_negatives(person_ids=person_ids, encoder=encoder)
    if not negatives:
        return {}
    index = {person_id: i for i, person_id in enumerate(person_ids)}
    vectors = np.concatenate([negatives[p] for p in negatives])
    labels = np.concatenate([np.full(len(negatives[p]), index[p]) for p in negatives])
    limits = openset.class_limits_tightened(centroids, vectors, labels, calibration)
    return {
        str(person_ids[i]): round(float(limits[i]), 4)
        for i in sorted({int(label) for label in labels})
    }


def _metrics(
    gallery: Gallery,
    result: ml_classifier.TrainResult,
    calibration: openset.Calibration,
    index_name: str,
    person_limits: dict[str, float],
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
        # Tightened by corrections (person id -> distance); identification applies them.
        "person_limits": person_limits,
        "gallery_fingerprint": gallery.fingerprint,
        # Stored name of the nearest-photo index (recognition.ml.search) of this model.
        "search_index": index_name,
    }


def _succeed(
    model: TrainedModel,
    gallery: Gallery,
    result: ml_classifier.TrainResult,
    calibration: openset.Calibration,
    relative: str,
    index_name: str,
    person_limits: dict[str, float],
) -> TrainedModel:
    with transaction.atomic():
        row = TrainedModel.objects.select_for_update().get(pk=model.pk)
        if row.status != Status.RUNNING or row.attempts != model.attempts:
            raise TrainingError(
                f"model #{model.pk} was taken over or stopped while training ({row.status})."
            )
        row.label_map = gallery.label_map
        deleted = model_holds_deleted_people(row)
        if deleted:
            # Never activate a model holding someone deleted while it trained: fail it
            # (its file is removed) and queue a retrain on the gallery as it is now.
            raise PeopleDeletedWhileTraining(
                f"{len(deleted)} of its people were deleted while it trained, so it was "
                "not activated; a new training was queued without them."
            )
        row.status = Status.SUCCEEDED
        row.finished_at = timezone.now()
        row.file = relative
        row.format_version = ml_classifier.FORMAT_VERSION
        row.label_map = gallery.label_map
        row.people_count = len(gallery.label_map)
        row.embedding_count = len(gallery.labels)
        row.engine = gallery.engine
        row.engine_version = gallery.engine_version
        row.metrics = _metrics(gallery, result, calibration, index_name, person_limits)
        row.epoch = result.epochs_run
        row.save()
        model_make_active(model_id=row.pk)
        row.refresh_from_db()
    return row


def _discard(names: list[str]) -> None:
    for name in names:
        model_file_delete(name=name)


def model_train_request_if_trained() -> TrainedModel | None:
    """Queue a retrain after the gallery shrank, but only once a model exists (and only
    when what is left can still be trained)."""
    if not TrainedModel.objects.filter(status=Status.SUCCEEDED).exists():
        return None
    try:
        return model_train_request()
    except GalleryTooSmall:
        return None
