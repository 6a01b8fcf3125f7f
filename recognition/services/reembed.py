"""Re-embedding: every stored photo's face again with the selected engine, then a training.

Switching engines is one action (``manage.py reembed``, or the admin button, which
queues ``recognition.tasks.reembed_photos``). The job works on what the data says, not
on its own bookkeeping: a photo is *pending* while its embedding is missing or of
another engine/version, and each photo is committed on its own. So a job is idempotent
(nothing pending: nothing to do), and a job whose worker was killed resumes where the
data stands, whether django-q2 re-delivers it (attempts are counted on the row, like
trainings) or a new request replaces it (a running job silent for
``REEMBED_STALE_SECONDS`` is marked failed). Progress counts the photos left when the
attempt started.

Enrollment's rules apply to each stored photo with the new detector (one clear
subject, large enough). A photo that fails them keeps its file and row but loses the
other engine's embedding (it cannot be compared with the new ones), and is listed on
the job with the reason: nothing is dropped silently, and the next re-embedding (for
instance back to the first engine) tries it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from accounts.users import User, user_or_none
from people.models import FaceImage
from recognition.analysis import Limits, find_subject
from recognition.images import decode
from recognition.ml.engine import EngineUnavailable, FaceEngine
from recognition.models import Embedding, ReembedJob
from recognition.rejections import PhotoRejected
from recognition.selectors import model_active, model_is_stale
from recognition.services.train import model_train_request

logger = logging.getLogger(__name__)
Status = ReembedJob.Status
REEMBED_STALE_SECONDS = 300
MISSING_FILE = "missing_file"

Progress = Callable[[ReembedJob], None]


class ReembedError(Exception):
    """A re-embedding that cannot run or did not finish; the message says why."""


def photos_pending(*, engine: str, engine_version: str) -> QuerySet[FaceImage]:
    """Photos whose embedding is missing or from another engine or version."""
    current = Embedding.objects.filter(engine=engine, engine_version=engine_version)
    return FaceImage.objects.exclude(pk__in=current.values("face_image_id"))


def _lock_requests() -> None:
    """Serialise re-embedding requests inside the current transaction."""
    table = ReembedJob._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
    else:
        # SQLite: the first write takes the database write lock (see train._lock_requests).
        ReembedJob.objects.filter(pk=-1).update(status=Status.QUEUED)


def reembeds_fail_stale() -> int:
    """Mark jobs failed whose worker stopped reporting; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=REEMBED_STALE_SECONDS)
    silent = ReembedJob.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff)
    never = ReembedJob.objects.filter(
        status=Status.QUEUED, requested_at__lt=timezone.now() - timedelta(hours=1)
    )
    count = silent.update(
        status=Status.FAILED,
        finished_at=timezone.now(),
        error=f"no progress for {REEMBED_STALE_SECONDS} s: the worker running it probably "
        "died. Start it again: it continues with the photos not yet re-embedded.",
    )
    count += never.update(
        status=Status.FAILED,
        finished_at=timezone.now(),
        error="was not started within an hour; is the task queue (qcluster) running?",
    )
    return count


def reembed_request(*, requested_by: User = None, enqueue: bool = True) -> ReembedJob:
    """A queued job re-embedding every photo with FACE_ENGINE, or the one already going.

    ``enqueue=False`` only creates the row (the ``reembed`` command runs it in-process).
    """
    reembeds_fail_stale()
    with transaction.atomic():
        _lock_requests()
        current = (
            ReembedJob.objects.filter(status__in=[Status.QUEUED, Status.RUNNING])
            .order_by("id")
            .first()
        )
        if current is not None:
            return current
        job = ReembedJob.objects.create(
            engine=settings.FACE_ENGINE, requested_by=user_or_none(requested_by)
        )
        if enqueue:
            job_id = job.pk
            transaction.on_commit(lambda: _enqueue(job_id))
    return job


def _enqueue(job_id: int) -> None:
    async_task(
        "recognition.tasks.reembed_photos",
        job_id,
        task_name=f"reembed-{job_id}",
        group="reembed",
    )


def _start(job_id: int, engine: FaceEngine | None, problem: str) -> ReembedJob:
    """Claim the job (running, one more attempt, counters from the data) or fail it."""
    with transaction.atomic():
        job = ReembedJob.objects.select_for_update().get(pk=job_id)
        if job.is_finished:
            return job
        now = timezone.now()
        if engine is None or job.attempts >= settings.FACE_TRAIN_MAX_ATTEMPTS:
            job.status = Status.FAILED
            job.finished_at = now
            job.error = problem or (
                f"gave up after {job.attempts} attempts: the worker running it stopped "
                "before it finished. Start it again: it continues where it stopped."
            )
            job.save(update_fields=["status", "finished_at", "error"])
            return job
        pending = photos_pending(engine=engine.name, engine_version=engine.version).count()
        job.status = Status.RUNNING
        job.engine_version = engine.version
        job.attempts += 1
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        # Each attempt counts what the data says is left (a resumed job skips what its
        # killed attempt already committed).
        job.total = pending
        job.done = 0
        job.reembedded = 0
        job.unusable = []
        job.error = ""
        job.save()
        return job


def reembed_run(
    *,
    job_id: int,
    train: bool = True,
    enqueue_training: bool = True,
    progress: Progress | None = None,
) -> ReembedJob:
    """Run job ``job_id`` in this process: re-embed every pending photo, then train.

    ``train``: request a training when done, unless the active model was trained on these
    very embeddings (queued, or only created when ``enqueue_training`` is False, for a
    caller that runs it itself); the job records it.
    Raises ReembedError (the row is then failed). A finished job is returned unchanged.
    """
    reembeds_fail_stale()
    engine, problem = None, ""
    job = ReembedJob.objects.get(pk=job_id)
    if job.is_finished:  # a late re-delivery: nothing to do
        return job
    try:
        engine = Limits.from_settings(engine=job.engine).face_engine()
    except EngineUnavailable as exc:
        problem = str(exc)
    job = _start(job_id, engine, problem)
    if job.status == Status.FAILED and problem:
        raise ReembedError(problem)
    if job.status == Status.FAILED:
        raise ReembedError(f"re-embedding #{job.pk}: {job.error}")
    if job.status != Status.RUNNING or engine is None:
        return job
    try:
        _run(job, engine, progress)
    except Exception as exc:
        logger.exception("re-embedding #%s failed", job.pk)
        ReembedJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            status=Status.FAILED, finished_at=timezone.now(), error=f"failed: {exc}"[:5000]
        )
        raise ReembedError(f"re-embedding #{job.pk} failed: {exc}") from exc
    if train and model_is_stale(model=model_active()):
        # Not when nothing changed (a re-run): the active model already has these vectors.
        model = model_train_request(requested_by=job.requested_by, enqueue=enqueue_training)
        ReembedJob.objects.filter(pk=job.pk).update(trained_model=model)
    job.refresh_from_db()
    return job


def _run(job: ReembedJob, engine: FaceEngine, progress: Progress | None) -> None:
    limits = Limits.from_settings(engine=job.engine)
    pending = photos_pending(engine=engine.name, engine_version=engine.version)
    last = 0.0
    for face_id in list(pending.order_by("id").values_list("id", flat=True)):
        problem = _reembed_one(face_id, engine=engine, limits=limits)
        job.done += 1
        if problem is None:
            job.reembedded += 1
        elif problem:
            job.unusable.append(problem)
        now = time.monotonic()
        if now - last >= 0.5 or job.done == job.total:  # a row write per photo is wasteful
            last = now
            _save_progress(job)
            if progress is not None:
                progress(job)
    job.status = Status.SUCCEEDED
    job.finished_at = timezone.now()
    _save_progress(job, extra=["status", "finished_at"])
    if progress is not None:
        progress(job)


def _save_progress(job: ReembedJob, extra: list[str] | None = None) -> None:
    job.heartbeat_at = timezone.now()
    fields = ["done", "reembedded", "unusable", "heartbeat_at", *(extra or [])]
    updated = ReembedJob.objects.filter(pk=job.pk, attempts=job.attempts).update(
        **{name: getattr(job, name) for name in fields}
    )
    if not updated:
        raise ReembedError(f"re-embedding #{job.pk} was taken over by another attempt")


def _reembed_one(face_id: int, *, engine: FaceEngine, limits: Limits) -> dict[str, Any] | None:
    """Re-embed one photo: None when done, a description when unusable, {} when gone."""
    face = FaceImage.objects.select_related("person").filter(pk=face_id).first()
    if face is None:
        return {}  # deleted since the list was read
    stored = str(face.image.name)
    name = face.original_name or stored
    try:
        with default_storage.open(stored, "rb") as handle:
            data = handle.read()
        # A stored photo passed the limits when it was enrolled; it is our own clean JPEG.
        image = decode(data, name=name, max_bytes=len(data) + 1, max_pixels=10**9)
        subject = find_subject(image, name=name, limits=limits, engine=engine)
    except PhotoRejected as rejection:
        return _unusable(face, rejection.code, rejection.message, engine)
    except OSError:
        return _unusable(face, MISSING_FILE, f"The stored file of {name} is missing.", engine)
    try:
        with transaction.atomic():
            Embedding.objects.filter(face_image=face).delete()
            Embedding.objects.create(
                face_image=face,
                data=Embedding.pack(subject.embedding),
                engine=subject.engine,
                engine_version=subject.engine_version,
            )
            top, right, bottom, left = subject.box
            FaceImage.objects.filter(pk=face.pk).update(
                box_top=top, box_right=right, box_bottom=bottom, box_left=left
            )
    except IntegrityError:
        return {}  # the photo was deleted meanwhile
    return None


def _unusable(face: FaceImage, code: str, detail: str, engine: FaceEngine) -> dict[str, Any]:
    # The other engine's vector cannot be compared with the new ones: remove it, keep
    # the photo (its file and row), and say so.
    Embedding.objects.filter(face_image=face).exclude(
        engine=engine.name, engine_version=engine.version
    ).delete()
    return {
        "face_image_id": face.pk,
        "person_id": face.person_id,
        "person": face.person.name,
        "file": face.original_name,
        "code": code,
        "detail": detail,
    }
