"""Scale-out: several task clusters and several web servers on one database and storage.

- Two django-q2 clusters on the same queue (Redis when REDIS_URL is set, as in CI's
  second run; the ORM broker otherwise) never train at once, even when the training
  task is delivered several times.
- Two gunicorn instances on the same database and media both answer with a newly
  activated model within a second of its activation.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from recognition.models import TrainedModel
from recognition.services.activation import model_activate
from recognition.services.train import _enqueue, model_train_request
from tests.api_support import token_for
from tests.recognition_support import cached_training, gallery, train_now
from tests.server_support import child_env

__all__ = ["cached_training", "gallery"]
ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 240


Starter = Callable[..., tuple[subprocess.Popen[bytes], IO[str]]]


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Starter]:
    """Start processes in their own process groups; stop them all afterwards."""
    started: list[tuple[subprocess.Popen[bytes], IO[str]]] = []

    def start(args: list[str], env: dict[str, str], name: str):  # type: ignore[no-untyped-def]
        log = (tmp_path / f"{name}.log").open("w+")
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        started.append((process, log))
        return process, log

    yield start
    for process, _log in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, log in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def read(log: IO[str]) -> str:
    log.seek(0)
    return log.read()


@pytest.mark.queue
@pytest.mark.django_db(transaction=True)
def test_two_clusters_on_one_queue_never_train_at_once(gallery, processes, media_root, monkeypatch):
    from django_q.conf import Conf
    from django_q.models import Task

    queue = f"facerecog-scale-{uuid.uuid4().hex[:8]}"
    env = child_env(
        media_root,
        Q_SYNC="false",
        Q_CLUSTER_NAME=queue,
        Q_WORKERS="1",
        FACE_TRAIN_EPOCHS="30",
        FACE_TRAIN_PATIENCE="5",
    )
    clusters = [
        processes([sys.executable, "manage.py", "qcluster"], env, f"cluster-{n}") for n in (1, 2)
    ]
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "PREFIX", queue)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", queue)
    job = model_train_request(enqueue=False)
    # The same job delivered four times: one worker per cluster and one task in each
    # cluster's own queue, so both clusters get at least one while a training runs.
    for _ in range(4):
        _enqueue(job.pk)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if Task.objects.filter(name=f"train-model-{job.pk}").count() == 4:
            break
        assert all(process.poll() is None for process, _ in clusters)
        time.sleep(1)
    logs = [read(log) for _, log in clusters]
    job.refresh_from_db()
    assert job.status == TrainedModel.Status.SUCCEEDED, f"{job.error}\n{logs[0][-2000:]}"
    # Trained once: a second training of the same job would have counted an attempt
    # (and one of the two would have failed as "taken over").
    assert job.attempts == 1 and job.is_active
    tasks = Task.objects.filter(name=f"train-model-{job.pk}")
    assert tasks.count() == 4 and all(task.success for task in tasks)
    assert {task.result for task in tasks} == {"succeeded"}
    for log in logs:  # both clusters took deliveries, so they did overlap in time
        assert f"processing train-model-{job.pk}" in log, log[-2000:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def identify_model_id(port: int, token: str, photo: bytes) -> int:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(  # loopback only
        f"http://127.0.0.1:{port}/api/identify/",
        data=body,
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    import json

    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return int(json.load(response)["model_id"])


@pytest.mark.queue
@pytest.mark.django_db(transaction=True)
def test_two_servers_serve_a_newly_activated_model_within_a_second(
    gallery, cached_training, processes, media_root, dev_photos, django_user_model
):
    first = train_now()
    second = train_now()
    assert second.is_active
    # A transactional test starts without the groups the migrations create.
    token = token_for(django_user_model.objects.create_superuser("ops", password="x"))
    ports = [free_port(), free_port()]
    for n, port in enumerate(ports):
        env = child_env(
            media_root,
            RUN_ADDRESS=f"127.0.0.1:{port}",
            WEB_WORKERS="1",
            THROTTLE_IDENTIFY="1000/min",
        )
        processes(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--config",
                "facerecog_site/gunicorn_conf.py",
                "facerecog_site.wsgi:application",
            ],
            env,
            f"web-{n}",
        )
    photo = dev_photos("Tom_Cruise")[6].read_bytes()
    deadline = time.monotonic() + 120
    answers: list[int] = []
    while time.monotonic() < deadline:
        try:
            answers = [identify_model_id(port, token, photo) for port in ports]
            break
        except OSError:
            time.sleep(0.5)
    assert answers == [second.pk, second.pk]  # both up, both on the active model

    model_activate(model=first)  # a rollback from a third process (this one)
    activated = time.monotonic()
    seen: dict[int, float] = {}
    while len(seen) < 2 and time.monotonic() - activated < 10:
        for port in ports:
            if port not in seen and identify_model_id(port, token, photo) == first.pk:
                seen[port] = time.monotonic() - activated
    assert set(seen) == set(ports), seen
    assert max(seen.values()) <= 1.0, seen
