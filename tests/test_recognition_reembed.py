"""Switching engines: manage.py reembed, the admin button, resume after a killed worker."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from people.models import FaceImage
from recognition import tasks
from recognition.models import Embedding, ReembedJob, TrainedModel
from recognition.services import reembed as reembed_service
from recognition.services.identify import face_identify
from recognition.services.reembed import reembed_request, reembed_run
from tests.recognition_support import UNSEEN, cached_training, enroll, train_now

__all__ = ["cached_training"]

pytestmark = [pytest.mark.django_db, pytest.mark.engine_dlib]
Status = ReembedJob.Status
PEOPLE = ["Kim_Clijsters", "Tom_Cruise", "Jennifer_Lopez"]
# Accepted by dlib's HOG (one face), refused by YuNet: a second, comparably prominent
# face (README, "Which face is the subject"). The opposite case: Keanu_Reeves_0005.
REFUSED_BY = {"opencv": "John_Negroponte_0004.jpg", "dlib": "Keanu_Reeves_0005.jpg"}


@pytest.fixture
def old_gallery(dev_photos, faces_dir, settings, cached_training):
    """Three people enrolled and trained with the other engine, plus one photo the
    selected engine refuses; then FACE_ENGINE switched back to the selected engine."""
    target = settings.FACE_ENGINE
    settings.FACE_ENGINE = "dlib" if target == "opencv" else "opencv"
    people = {name: enroll(name.replace("_", " "), dev_photos(name)[:4]) for name in PEOPLE}
    refused = REFUSED_BY[target]
    owner = refused.rsplit("_", 1)[0]
    others = [p for p in dev_photos(owner) if p.name != refused][:2]
    people[owner] = enroll(owner.replace("_", " "), [faces_dir / "dev" / owner / refused, *others])
    old_model = train_now()
    settings.FACE_ENGINE = target
    return {"people": people, "model": old_model, "refused": refused, "target": target}


def run(*args: str) -> tuple[dict, str, str]:
    out, err = StringIO(), StringIO()
    call_command("reembed", "--json", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue().strip().splitlines()[-1]), out.getvalue(), err.getvalue()


def engines_stored() -> set[str]:
    return set(Embedding.objects.values_list("engine", flat=True))


def test_reembed_switches_every_photo_lists_the_unusable_one_and_trains(old_gallery, dev_photos):
    target, refused = old_gallery["target"], old_gallery["refused"]
    photos = FaceImage.objects.count()
    report, out, err = run()
    assert report["engine"] == target and report["total"] == photos == 15
    assert report["reembedded"] == photos - 1
    [unusable] = report["unusable"]
    assert unusable["file"] == refused and unusable["code"] == "multiple_faces"
    assert "2 faces found in" in unusable["detail"]  # enrollment's own sentence
    assert f"no usable face: {refused}" in err and "15/15 photos" in err
    # The photo is kept; only the other engine's vector (not comparable) is gone.
    kept = FaceImage.objects.get(original_name=refused)
    assert not Embedding.objects.filter(face_image=kept).exists()
    assert engines_stored() == {target}
    assert Embedding.objects.count() == photos - 1
    # Then a model on the new embeddings, active, that names people.
    model = TrainedModel.objects.get(pk=report["model_id"])
    assert model.is_active and model.engine == target and model.embedding_count == photos - 1
    assert f"model #{model.pk} trained on {photos - 1} {target} embeddings" in out
    probe = dev_photos("Kim_Clijsters")[UNSEEN]
    named = face_identify(source=probe.read_bytes(), name=probe.name).faces
    assert [f.person_id for f in named] == [old_gallery["people"]["Kim_Clijsters"].pk]

    # Idempotent: a second run re-embeds nothing, lists the same photo, trains nothing.
    again, _, _ = run()
    assert again["total"] == 1 and again["reembedded"] == 0
    assert [p["file"] for p in again["unusable"]] == [refused]
    assert again["model_id"] is None
    assert TrainedModel.objects.count() == 2 and engines_stored() == {target}


def test_a_killed_worker_is_resumed_where_the_data_stands(
    old_gallery, monkeypatch, django_capture_on_commit_callbacks
):
    target = old_gallery["target"]
    job = reembed_request(enqueue=False)
    real = reembed_service._reembed_one
    calls = []

    def dies_after_five(face_id, **kwargs):
        if len(calls) == 5:
            raise SystemExit("worker killed")  # not an Exception: nothing catches it
        calls.append(face_id)
        return real(face_id, **kwargs)

    monkeypatch.setattr(reembed_service, "_reembed_one", dies_after_five)
    with pytest.raises(SystemExit):
        reembed_run(job_id=job.pk, train=False)
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.attempts == 1
    assert Embedding.objects.filter(engine=target).count() == 5  # committed one by one
    monkeypatch.setattr(reembed_service, "_reembed_one", real)

    # A request meanwhile gets the running job, not a second one.
    assert reembed_request(enqueue=False) == job
    # django-q2 re-delivers the task: the second attempt does only what is left.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reembed_photos(job.pk).startswith("succeeded")
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.attempts == 2
    assert job.total == 10 and job.reembedded == 9 and len(job.unusable) == 1
    assert engines_stored() == {target} and Embedding.objects.count() == 14
    # and queued the training on the new embeddings (run at once: Q_SYNC in tests).
    assert job.trained_model is not None
    job.trained_model.refresh_from_db()
    assert job.trained_model.is_active and job.trained_model.engine == target


def test_a_silent_running_job_is_replaced_by_a_new_request_that_continues(old_gallery):
    target = old_gallery["target"]
    stuck = reembed_request(enqueue=False)
    ReembedJob.objects.filter(pk=stuck.pk).update(
        status=Status.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now() - timedelta(minutes=30),
    )
    fresh = reembed_request(enqueue=False)
    assert fresh.pk != stuck.pk
    stuck.refresh_from_db()
    assert stuck.status == Status.FAILED and "continues with the photos" in stuck.error
    done = reembed_run(job_id=fresh.pk, train=False)
    assert done.status == Status.SUCCEEDED and engines_stored() == {target}
    # The old job, re-delivered late, does nothing.
    assert reembed_run(job_id=stuck.pk, train=False).status == Status.FAILED


def test_the_admin_button_queues_the_job_and_shows_progress(
    old_gallery, admin_client, django_capture_on_commit_callbacks
):
    target = old_gallery["target"]
    listing = admin_client.get(reverse("admin:recognition_reembedjob_changelist"))
    assert f"Re-embed every photo with {target}" in listing.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:recognition_reembedjob_run"))
    assert response.status_code == 302
    job = ReembedJob.objects.get()  # ran at once: Q_SYNC in tests
    assert job.trained_model is not None and job.trained_model.is_active
    assert job.status == Status.SUCCEEDED and job.engine == target and job.total == 15
    assert job.requested_by is not None
    listing = admin_client.get(reverse("admin:recognition_reembedjob_changelist")).content
    assert b"15 of 15 photos" in listing
    page = admin_client.get(reverse("admin:recognition_reembedjob_change", args=[job.pk]))
    assert old_gallery["refused"] in page.content.decode()
    assert engines_stored() == {target}


def test_the_button_needs_the_permission(old_gallery, client, django_user_model):
    user = django_user_model.objects.create_user("vera", password="x", is_staff=True)
    client.force_login(user)
    response = client.post(reverse("admin:recognition_reembedjob_run"))
    assert response.status_code in {302, 403}
    assert not ReembedJob.objects.exists()
