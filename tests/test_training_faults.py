"""Trainings that lose their worker, and people deleted while or after a model trained."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from people.models import Person
from recognition.ml import classifier as ml_classifier
from recognition.models import Identification, TrainedModel
from recognition.selectors import model_active
from recognition.services import heartbeat
from recognition.services import train as train_service
from recognition.services.activation import ModelNotActivatable, model_activate
from recognition.services.identify import face_identify
from recognition.services.train import TrainingError, model_train, model_train_request
from tests.recognition_support import UNSEEN, cached_training, gallery, memo_train, train_now

__all__ = ["cached_training", "gallery"]
Status = TrainedModel.Status
pytestmark = pytest.mark.django_db


def delete_person(person: Person) -> None:
    """The deletion service every path (API, web, admin) calls."""
    from recognition.services.gallery import person_remove

    person_remove(person=person)


# --- Heartbeat ---------------------------------------------------------------------


def test_a_running_job_silent_past_the_heartbeat_is_failed_and_a_new_one_starts(settings):
    settings.FACE_TRAIN_HEARTBEAT = 30
    started = timezone.now() - timedelta(seconds=300)
    dead = TrainedModel.objects.create(
        status=Status.RUNNING,
        attempts=1,
        started_at=started,
        heartbeat_at=timezone.now() - timedelta(seconds=31),
    )
    alive = TrainedModel.objects.create(
        status=Status.RUNNING,
        attempts=1,
        started_at=started,
        heartbeat_at=timezone.now() - timedelta(seconds=5),
    )
    fresh = model_train_request(enqueue=False)
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == Status.FAILED
    assert "no heartbeat for 30 s" in dead.error
    # The live one is still running, so the request returns it rather than a second job.
    assert alive.status == Status.RUNNING and fresh == alive


def test_the_sweep_fails_a_silent_job_on_any_broker(settings):
    from django_q.models import Schedule

    from recognition.tasks import fail_stale_trainings

    # Every minute, so a dead worker is noticed within FACE_TRAIN_HEARTBEAT + 1 minute.
    sweep = Schedule.objects.get(func="recognition.tasks.fail_stale_trainings")
    assert sweep.minutes == 1
    settings.FACE_TRAIN_HEARTBEAT = 30
    TrainedModel.objects.create(
        status=Status.RUNNING,
        attempts=1,
        started_at=timezone.now() - timedelta(seconds=40),
        heartbeat_at=None,  # killed before its first beat
    )
    assert fail_stale_trainings() == 1
    assert TrainedModel.objects.get().status == Status.FAILED


@pytest.mark.django_db(transaction=True)  # the beats come from another thread
def test_a_training_beats_while_it_runs(gallery, cached_training, monkeypatch, settings):
    settings.FACE_TRAIN_HEARTBEAT = 8  # a beat every 2 s
    beats: list[object] = []
    real = heartbeat.model_heartbeat

    def counted(*, model_id: int) -> None:
        real(model_id=model_id)
        beats.append(TrainedModel.objects.get(pk=model_id).heartbeat_at)

    monkeypatch.setattr(heartbeat, "model_heartbeat", counted)

    def slow_train(*args, **kwargs):  # type: ignore[no-untyped-def]
        import time

        time.sleep(4.5)  # a long phase without epochs (e.g. calibration)
        return memo_train(*args, **kwargs)

    monkeypatch.setattr(ml_classifier, "train", slow_train)
    model = train_now()
    assert model.status == Status.SUCCEEDED
    assert len(beats) >= 3  # at start, then every 2 s from its own thread
    assert all(beat is not None for beat in beats)


# --- Deletion during and after a training -------------------------------------------


def test_a_person_deleted_while_training_never_gets_into_the_active_model(
    gallery, cached_training, monkeypatch, media_root, django_capture_on_commit_callbacks
):
    previous = train_now()
    victim = gallery["Tom_Cruise"]

    def train_and_delete(*args, **kwargs):  # type: ignore[no-untyped-def]
        delete_person(victim)  # someone deletes them while the epochs run
        return memo_train(*args, **kwargs)

    monkeypatch.setattr(ml_classifier, "train", train_and_delete)
    job = model_train_request(enqueue=False)
    with pytest.raises(TrainingError, match="deleted while it trained"):
        model_train(model_id=job.pk)
    job.refresh_from_db()
    assert job.status == Status.FAILED and not job.is_active and job.file == ""
    assert model_active() == previous  # still serving, never names the deleted person
    retrain = TrainedModel.objects.filter(status=Status.QUEUED).get()
    assert retrain.pk > job.pk
    monkeypatch.setattr(ml_classifier, "train", memo_train)
    with django_capture_on_commit_callbacks(execute=True):
        finished = model_train(model_id=retrain.pk)
    assert finished.is_active
    assert str(victim.pk) not in {str(e["person_id"]) for e in finished.label_map.values()}
    # Only the new model and its index: the old ones held them.
    assert sorted(p.name for p in (media_root / "models").glob("*.npz")) == sorted(
        name.split("/")[1] for name in (finished.file, finished.metrics["search_index"])
    )


def test_erasure_redacts_audit_names_and_removes_model_files_holding_them(
    gallery,
    cached_training,
    dev_photos,
    media_root,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    settings.FACE_MODELS_KEEP = 5
    older = train_now()
    active = train_now()
    assert {older.pk, active.pk} == set(TrainedModel.objects.values_list("pk", flat=True))
    older_file = older.file
    older_index = older.metrics["search_index"]  # holds the person's embeddings too
    victim = gallery["Tom_Cruise"]
    probe = dev_photos("Tom_Cruise")[UNSEEN]  # one face for both engines
    answer = face_identify(source=probe.read_bytes(), name=probe.name)
    assert [face.person_id for face in answer.faces] == [victim.pk]
    record = Identification.objects.get()

    # The retrain is queued for the cluster (not run inline here): the state between.
    monkeypatch.setattr(train_service, "_enqueue", lambda model_id: None)
    with django_capture_on_commit_callbacks(execute=True):
        delete_person(victim)

    record.refresh_from_db()
    assert record.known_count == 1 and record.people.count() == 0
    face = record.results[0]
    assert face["erased"] is True and face["person_id"] is None
    assert face["name"] is None and face["person"] is None
    assert "Tom Cruise" not in str(record.results)
    older.refresh_from_db()
    active.refresh_from_db()
    # The older model's file held their centroid: removed, and it says why.
    assert older.file == "" and "deleted" in older.error
    with pytest.raises(ModelNotActivatable, match="person who has since been deleted"):
        model_activate(model=older)
    # The active one keeps answering for everyone else until the retrain replaces it.
    assert active.is_active and (media_root / active.file).is_file()
    for model in (older, active):
        names = [entry["name"] for entry in model.label_map.values()]
        assert "Tom Cruise" not in names and None in names
        assert "Tom Cruise" not in str(model.metrics.get("per_person"))
    assert not (media_root / "models" / Path(older_file).name).exists()
    assert not (media_root / older_index).exists()
    retrain = TrainedModel.objects.get(status=Status.QUEUED)
    with django_capture_on_commit_callbacks(execute=True):
        replaced = model_train(model_id=retrain.pk)
    active.refresh_from_db()
    assert replaced.is_active and active.file == ""  # now older: its file goes too
    assert sorted(p.name for p in (media_root / "models").iterdir()) == sorted(
        name.split("/")[1] for name in (replaced.file, replaced.metrics["search_index"])
    )
