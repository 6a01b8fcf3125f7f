"""Training jobs: one at a time, bounded retries, failures keep the old model serving."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from recognition.ml import classifier as ml_classifier
from recognition.ml import openset
from recognition.models import TrainedModel
from recognition.selectors import (
    gallery_stats,
    model_active,
    model_is_stale,
    model_training_current,
)
from recognition.services import train as train_service
from recognition.services.activation import ModelNotActivatable, model_activate
from recognition.services.identify import face_identify
from recognition.services.train import (
    GalleryTooSmall,
    TrainingError,
    model_train,
    model_train_request,
)
from tests.recognition_support import (
    cached_training,
    enroll,
    gallery,
    placeholder_gallery,
    train_now,
)

__all__ = ["cached_training", "gallery"]
pytestmark = pytest.mark.engine_dlib  # `make test` runs these with FACE_ENGINE=dlib too
Status = TrainedModel.Status


def named(path):
    faces = face_identify(source=path.read_bytes(), name=path.name).faces
    return [face.person_id for face in faces]


@pytest.mark.django_db
def test_training_records_file_metrics_and_progress(
    gallery, cached_training, dev_photos, media_root, settings
):
    model = train_now()
    assert model.status == Status.SUCCEEDED and model.is_active and model.attempts == 1
    assert (media_root / model.file).is_file() and model.file.startswith("models/")
    assert model.format_version == ml_classifier.FORMAT_VERSION
    assert model.people_count == 5 and model.embedding_count == 25
    assert {entry["person_id"] for entry in model.label_map.values()} == {
        p.pk for p in gallery.values()
    }
    assert {entry["photos"] for entry in model.label_map.values()} == {5}
    metrics = model.metrics
    assert 0.8 <= metrics["val_accuracy"] <= 1
    assert set(metrics["per_person"]) == {str(p.pk) for p in gallery.values()}
    for scores in metrics["per_person"].values():
        assert set(scores) == {"name", "precision", "recall", "support"}
    history = metrics["history"]
    assert set(history) >= {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert len(history["loss"]) == metrics["epochs_run"] == model.epoch >= 1
    assert history["loss"][-1] < history["loss"][0]
    # Progress ends full: planned epochs == epochs run (early stopping), at most 60.
    assert model.epochs == model.epoch <= 60 and metrics["train_seconds"] > 0
    calibration = metrics["calibration"]
    priors = openset.PRIORS[calibration["engine"]]
    assert calibration["engine"] == settings.FACE_ENGINE
    low, high = priors.threshold_bounds
    assert low <= calibration["threshold"] <= high
    low, high = priors.ratio_bounds
    assert low <= calibration["ratio"] <= high
    assert not model_is_stale(model=model)
    enroll("Kim Other", dev_photos("Lindsay_Davenport")[:2])
    assert model_is_stale(model=model)
    assert gallery_stats() == {"people": 6, "photos": 27, "embeddings": 27}


@pytest.mark.django_db
def test_one_person_is_refused_before_any_job_exists(dev_photos):
    enroll("Tom Cruise", dev_photos("Tom_Cruise")[:5])
    enroll("Single Photo", dev_photos("Kim_Clijsters")[:1])
    with pytest.raises(GalleryTooSmall, match="at least two people with at least two photos"):
        model_train_request(enqueue=False)
    assert not TrainedModel.objects.exists()


@pytest.mark.django_db
def test_a_gallery_shrunk_after_the_request_is_a_clear_error_and_nothing_is_activated(
    dev_photos, media_root
):
    enroll("Tom Cruise", dev_photos("Tom_Cruise")[:5])
    single = enroll("Single Photo", dev_photos("Kim_Clijsters")[:2])
    job = model_train_request(enqueue=False)
    single.faces.last().delete()
    with pytest.raises(TrainingError, match="at least two people with at least two photos"):
        model_train(model_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED and "two people" in job.error
    assert job.finished_at is not None and not job.is_active
    assert model_active() is None and not list(media_root.rglob("*.npz"))


@pytest.mark.django_db
def test_a_training_failing_midway_leaves_the_previous_model_serving(
    gallery, cached_training, dev_photos, monkeypatch, media_root
):
    first = train_now()
    photo = dev_photos("Kim_Clijsters")[7]
    assert named(photo) == [gallery["Kim_Clijsters"].pk]

    def explode(*args, **kwargs):
        kwargs["progress"](3, kwargs["epochs"])
        raise MemoryError("simulated out-of-memory at epoch 3")

    monkeypatch.setattr(ml_classifier, "train", explode)
    job = model_train_request(enqueue=False)
    with pytest.raises(TrainingError, match="simulated out-of-memory"):
        model_train(model_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED and "simulated out-of-memory" in job.error
    assert job.epoch == 3 and not job.file
    assert model_active() == first
    kept = sorted([first.file[7:], first.metrics["search_index"][7:]])  # model + its index
    assert sorted(p.name for p in (media_root / "models").iterdir()) == kept
    assert named(photo) == [gallery["Kim_Clijsters"].pk]


@pytest.mark.django_db
def test_a_request_while_one_is_queued_or_running_returns_it(django_capture_on_commit_callbacks):
    placeholder_gallery()
    with django_capture_on_commit_callbacks() as callbacks:
        first = model_train_request()
        again = model_train_request()
    assert again == first and len(callbacks) == 1
    TrainedModel.objects.filter(pk=first.pk).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    assert model_train_request(enqueue=False) == first == model_training_current()


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_requests_create_one_job(monkeypatch):
    placeholder_gallery()
    enqueued = []
    monkeypatch.setattr(train_service, "async_task", lambda *args, **kw: enqueued.append(args))
    barrier = threading.Barrier(2)
    results, errors = [], []

    def request():
        try:
            barrier.wait()
            results.append(model_train_request().pk)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert TrainedModel.objects.count() == 1
    assert results == [TrainedModel.objects.get().pk] * 2
    assert enqueued == [("recognition.tasks.train_model", results[0])]


@pytest.mark.django_db
def test_redelivery_of_a_killed_job_is_retried_then_given_up(gallery, cached_training, settings):
    """django-q2's ORM broker re-delivers a dead worker's task without counting attempts."""
    settings.FACE_TRAIN_MAX_ATTEMPTS = 2
    job = model_train_request(enqueue=False)
    # Attempt 1 started, then the worker was SIGKILLed: the row says running.
    TrainedModel.objects.filter(pk=job.pk).update(
        status=Status.RUNNING, attempts=1, started_at=timezone.now()
    )
    model = model_train(model_id=job.pk)  # the re-delivery: attempt 2 succeeds
    assert model.status == Status.SUCCEEDED and model.attempts == 2
    assert model_train(model_id=job.pk).status == Status.SUCCEEDED  # late duplicate: no-op

    killed = model_train_request(enqueue=False)
    TrainedModel.objects.filter(pk=killed.pk).update(
        status=Status.RUNNING, attempts=2, started_at=timezone.now()
    )
    with pytest.raises(TrainingError, match="gave up after 2 attempts"):
        model_train(model_id=killed.pk)
    killed.refresh_from_db()
    assert killed.status == Status.FAILED and killed.attempts == 2
    assert model_active() == model


@pytest.mark.django_db
def test_a_job_running_past_the_timeout_is_failed_by_the_next_request(settings):
    settings.FACE_TRAIN_TIMEOUT = 60
    placeholder_gallery()
    stuck = TrainedModel.objects.create(
        status=Status.RUNNING, attempts=1, started_at=timezone.now() - timedelta(seconds=61)
    )
    fresh = model_train_request(enqueue=False)
    stuck.refresh_from_db()
    assert fresh != stuck and fresh.status == Status.QUEUED
    assert stuck.status == Status.FAILED and "did not finish within 60 s" in stuck.error


@pytest.mark.django_db
def test_the_scheduled_sweep_ends_a_job_whose_worker_died(settings):
    from django_q.models import Schedule

    from recognition.tasks import fail_stale_trainings

    # Created by a migration, so every cluster runs it without setup.
    sweep = Schedule.objects.get(func="recognition.tasks.fail_stale_trainings")
    assert sweep.schedule_type == Schedule.MINUTES and sweep.repeats == -1
    settings.FACE_TRAIN_TIMEOUT = 60
    lost = TrainedModel.objects.create(
        status=Status.RUNNING, attempts=1, started_at=timezone.now() - timedelta(seconds=61)
    )
    alive = TrainedModel.objects.create(
        status=Status.RUNNING, attempts=1, started_at=timezone.now() - timedelta(seconds=30)
    )
    assert fail_stale_trainings() == 1
    lost.refresh_from_db()
    alive.refresh_from_db()
    assert lost.status == Status.FAILED and lost.finished_at is not None
    assert alive.status == Status.RUNNING


@pytest.mark.django_db
def test_activate_rolls_back_and_old_files_are_pruned(
    gallery, cached_training, dev_photos, settings, media_root
):
    settings.FACE_MODELS_KEEP = 2
    first = train_now()
    enroll("Lindsay Davenport", dev_photos("Lindsay_Davenport")[:5])
    second = train_now()
    photo = dev_photos("Lindsay_Davenport")[7]
    assert named(photo) == [second.label_map["5"]["person_id"]]
    assert model_activate(model=first).is_active
    second.refresh_from_db()
    assert not second.is_active
    assert named(photo) == [None]  # the first model never saw her: takes effect at once
    third = train_now()
    first.refresh_from_db()
    assert third.is_active and first.file == ""  # beyond FACE_MODELS_KEEP
    # Each kept model's file and its search index; the first's both gone.
    assert sorted(p.name for p in (media_root / "models").iterdir()) == sorted(
        name[7:] for m in (second, third) for name in (m.file, m.metrics["search_index"])
    )
    failed = TrainedModel.objects.create(status=Status.FAILED)
    for unusable in (failed, first):
        with pytest.raises(ModelNotActivatable):
            model_activate(model=unusable)
