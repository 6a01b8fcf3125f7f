"""A real django-q2 cluster (``manage.py qcluster``) runs a requested training."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recognition.models import TrainedModel
from recognition.services.train import model_train_request
from tests.recognition_support import gallery
from tests.server_support import child_env

__all__ = ["gallery"]
ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 180
QUEUE_NAME = f"facerecog-test-{os.getpid()}"


@pytest.fixture
def cluster(media_root: Path, tmp_path: Path):
    env = child_env(
        media_root,
        Q_SYNC="false",
        FACE_TRAIN_EPOCHS="30",
        FACE_TRAIN_PATIENCE="5",
        Q_CLUSTER_NAME=QUEUE_NAME,  # its own queue: no other cluster takes the task
    )
    log = (tmp_path / "qcluster.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stop workers with it
    )
    yield process, log
    if process.poll() is None:
        # The cluster stops its own workers on SIGTERM; signalling the whole group at
        # once makes the sentinel wait out its timeouts instead.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log.close()


@pytest.mark.queue
@pytest.mark.django_db(transaction=True)
def test_a_real_cluster_trains_a_requested_model(gallery, cluster, monkeypatch, settings):
    from django_q.conf import Conf

    process, log = cluster
    # The test settings run tasks inline; this test wants the real queue.
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "PREFIX", QUEUE_NAME)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", QUEUE_NAME)
    job = model_train_request()
    assert job.status == TrainedModel.Status.QUEUED
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        job.refresh_from_db()
        if job.is_finished:
            break
        time.sleep(1)
    log.seek(0)
    output = log.read()[-3000:]
    assert job.status == TrainedModel.Status.SUCCEEDED, f"{job.status} {job.error}\n{output}"
    assert job.is_active and job.attempts == 1 and job.people_count == 5
    assert (Path(settings.MEDIA_ROOT) / job.file).is_file()
    assert model_train_request(enqueue=False) != job  # finished: a new request is a new job
