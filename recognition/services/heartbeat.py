"""The heartbeat of a running training: proof of life written by the worker.

A thread beside the training writes ``heartbeat_at`` every few seconds (the epochs
write it too), so a worker killed mid-job (SIGKILL, out of memory) falls silent at
once, whatever phase it was in (loading, an epoch, calibrating, saving). The sweep and
the next request fail a running job silent for FACE_TRAIN_HEARTBEAT seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.utils import timezone

from recognition.models import TrainedModel


def heartbeat_interval() -> float:
    """Seconds between beats: a quarter of the silence that fails a job (2 s at least)."""
    return max(2.0, settings.FACE_TRAIN_HEARTBEAT / 4)


def model_heartbeat(*, model_id: int) -> None:
    TrainedModel.objects.filter(pk=model_id, status=TrainedModel.Status.RUNNING).update(
        heartbeat_at=timezone.now()
    )


@contextmanager
def training_heartbeat(*, model_id: int) -> Iterator[None]:
    """Beat for ``model_id`` while the block runs (in a thread of this process)."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(heartbeat_interval()):
                model_heartbeat(model_id=model_id)
        finally:
            connection.close()  # this thread's own database connection

    model_heartbeat(model_id=model_id)
    thread = threading.Thread(target=beat, name=f"heartbeat-{model_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        # Not forever: a beat waiting for a database lock must not hold up the job.
        thread.join(timeout=5)
