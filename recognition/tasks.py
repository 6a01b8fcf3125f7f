"""django-q2 entry points: take ids, call one service.

Nothing heavy is imported here at module level: the cluster imports this module in its
parent process before forking workers, and TensorFlow must only load inside a worker.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def train_model(model_id: int) -> str:
    """Run training job ``model_id``; the outcome is recorded on its TrainedModel row."""
    # Lazy, as the module docstring says: the cluster parent imports this before forking.
    from recognition.services.train import TrainingError, model_train

    try:
        model = model_train(model_id=model_id)
    except TrainingError as exc:
        # Recorded on the row (status failed, error); not a task crash to retry.
        logger.warning("training job #%s failed: %s", model_id, exc)
        return f"failed: {exc}"
    return f"{model.status}"


def reembed_photos(job_id: int) -> str:
    """Run re-embedding job ``job_id`` (then queue a training); recorded on its row."""
    from recognition.services.reembed import ReembedError, reembed_run

    try:
        job = reembed_run(job_id=job_id)
    except ReembedError as exc:
        logger.warning("re-embedding job #%s failed: %s", job_id, exc)
        return f"failed: {exc}"
    return f"{job.status}: {job.reembedded} re-embedded, {len(job.unusable)} unusable"


def fail_stale_trainings() -> int:
    """Scheduled every few minutes (migration 0002): end jobs whose worker died.

    With the Redis broker a task lost with its worker is never re-delivered, so without
    this its TrainedModel row would say "running" until someone asked for a training.
    Re-embedding jobs are swept too (a new request then continues their work).
    """
    # Lazy, like train_model's import: keep this module free of imports at start-up.
    from recognition.services.reembed import reembeds_fail_stale
    from recognition.services.train import models_fail_stale

    return models_fail_stale() + reembeds_fail_stale()


def purge_review_faces() -> int:
    """Scheduled hourly (migration 0005_review): faces kept past FACE_REVIEW_KEEP_DAYS."""
    # Lazy, like the others: keep this module free of imports at start-up.
    from recognition.services.review import review_faces_purge

    return review_faces_purge()
