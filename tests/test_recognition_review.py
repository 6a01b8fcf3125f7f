"""Reviewing answers with real photos: explained answers, the inbox, corrections, erasure."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.db import DatabaseError
from django.utils import timezone

from people.models import Person
from recognition.ml import classifier as ml_classifier
from recognition.ml import openset
from recognition.models import Correction, Identification, ReviewFace
from recognition.review_selectors import inbox_groups
from recognition.services import identify as identify_service
from recognition.services.enroll import face_image_store
from recognition.services.gallery import person_remove
from recognition.services.identify import CORRECTED, face_identify
from recognition.services.review import (
    ReviewError,
    review_face_not_person,
    review_faces_assign,
    review_faces_dismiss,
    review_faces_purge,
)
from tests.conftest import media_files
from tests.recognition_support import (
    GALLERY,
    STRANGER,
    alone,
    analysis_of,
    cached_training,
    enroll,
    gallery,
    train_now,
)

__all__ = ["cached_training", "gallery"]  # fixtures used below


def identify_path(path: Path, **kwargs):
    return face_identify(source=path.read_bytes(), name=path.name, **kwargs)


def review_files(media: Path) -> list[Path]:
    return [p for p in media_files(media) if p.relative_to(media).parts[0] == "review"]


@pytest.mark.django_db
def test_answers_carry_candidates_cutoff_reason_and_matched_photos(
    gallery, cached_training, dev_photos
):
    model = train_now()
    threshold = model.metrics["calibration"]["threshold"]
    tom = gallery["Tom_Cruise"]
    [named] = identify_path(dev_photos("Tom_Cruise")[8]).faces
    assert named.person_id == tom.pk and named.reason is None
    assert named.candidates[0].person_id == tom.pk and named.candidates[0].name == "Tom Cruise"
    assert len(named.candidates) == 3
    assert [c.distance for c in named.candidates] == sorted(c.distance for c in named.candidates)
    assert named.threshold == threshold and named.distance <= named.cutoff <= threshold
    # The enrolled photos nearest to the face, all of Tom, nearest first.
    assert len(named.matched_photos) == 3
    tom_photos = set(tom.faces.values_list("pk", flat=True))
    assert {m.face_image_id for m in named.matched_photos} <= tom_photos
    distances = [m.distance for m in named.matched_photos]
    assert distances == sorted(distances)

    # A near miss: the same face against a cut-off just below its distance.
    [miss] = identify_path(
        dev_photos("Tom_Cruise")[8], distance_threshold=named.distance - 0.005
    ).faces
    assert miss.person_id is None and miss.reason == openset.NO_CLOSE_MATCH
    assert miss.candidates[0].name == "Tom Cruise"
    assert miss.cutoff == pytest.approx(named.distance - 0.005, abs=1e-4)
    assert miss.cutoff < miss.distance
    assert miss.matched_photos == ()

    # A stranger: unknown, with the reason and who was closest.
    [stranger] = identify_path(dev_photos(STRANGER)[0]).faces
    assert stranger.person_id is None
    assert stranger.reason in {openset.NO_CLOSE_MATCH, openset.AMBIGUOUS, openset.MODEL_VETO}
    assert stranger.candidates[0].distance > stranger.cutoff
    assert {c.name for c in stranger.candidates} <= {n.replace("_", " ") for n in GALLERY}

    # The audit keeps the answer and its reason, not the other candidates.
    record = Identification.objects.order_by("-id").first()
    assert record.results[0]["reason"] == stranger.reason
    assert "candidates" not in record.results[0]


@pytest.mark.django_db
def test_the_classifier_vetoes_only_people_it_saw_enough_photos_of(
    cached_training, dev_photos, monkeypatch
):
    # The README's walkthrough: Keanu Reeves on 3 photos, Tom Cruise on 2.
    keanu = enroll("Keanu Reeves", dev_photos("Keanu_Reeves")[:3])
    enroll("Tom Cruise", dev_photos("Tom_Cruise")[:2])
    model = train_now()
    assert {e["name"]: e["photos"] for e in model.label_map.values()} == {
        "Keanu Reeves": 3,
        "Tom Cruise": 2,
    }
    probe = dev_photos("Keanu_Reeves")[3]
    # A classifier that gives the nearest person (Keanu, by far) almost nothing.
    keanu_index = next(int(i) for i, e in model.label_map.items() if e["name"] == "Keanu Reeves")

    def against_keanu(self, embeddings):
        p = np.full((len(embeddings), self.n_classes), 0.99, dtype=np.float32)
        p[:, keanu_index] = 0.01
        return p

    monkeypatch.setattr(ml_classifier.Classifier, "probabilities", against_keanu)
    [face] = identify_path(probe).faces
    # Named by the geometry; the classifier's 0.01 is not reported as a confidence.
    assert face.person_id == keanu.pk and face.reason is None and face.confidence is None

    # With 5 photos of him the classifier has seen enough of him to veto.
    for photo in dev_photos("Keanu_Reeves")[5:7]:  # [4] is one refused (a second face)
        face_image_store(person=keanu, analysis=analysis_of(photo), name=photo.name)
    model = train_now()
    assert model.label_map[str(keanu_index)]["photos"] == openset.VETO_MIN_PHOTOS
    [face] = identify_path(probe).faces
    assert face.person_id is None and face.reason == openset.MODEL_VETO
    assert face.distance <= face.cutoff


@pytest.mark.django_db
def test_a_stranger_seen_twice_is_one_group_assigned_to_a_new_person_then_named(
    gallery,
    cached_training,
    dev_photos,
    media_root,
    django_user_model,
    django_capture_on_commit_callbacks,
):
    train_now()
    user = django_user_model.objects.create_user("olga")
    photos = dev_photos(STRANGER)
    for photo in (photos[0], photos[2]):
        [face] = identify_path(photo, user=user).faces
        assert face.person_id is None and face.review_face_id is not None
    assert ReviewFace.objects.filter(person__isnull=True).count() == 2
    assert len(review_files(media_root)) == 2

    [group] = inbox_groups()
    assert group.count == 2 and group.first_seen <= group.last_seen

    with django_capture_on_commit_callbacks(execute=True):
        person, outcomes = review_faces_assign(faces=group.faces, name="Muhammad Ali", user=user)
    assert [o.rejection for o in outcomes] == [None, None]
    assert person.faces.count() == 2 and person.created_by == user
    assert not ReviewFace.objects.exists() and review_files(media_root) == []
    assert Correction.objects.filter(kind="assigned", person=person).count() == 2
    assert inbox_groups() == []

    train_now()
    [face] = identify_path(photos[5]).faces
    assert face.person_id == person.pk and face.name == "Muhammad Ali"


@pytest.mark.django_db
def test_different_strangers_are_different_groups_and_dismiss_deletes_crops(
    gallery, cached_training, dev_photos, media_root, django_capture_on_commit_callbacks
):
    train_now()
    for photo in [*alone(dev_photos(STRANGER)), dev_photos("Angelina_Jolie")[0]]:
        identify_path(photo)
    groups = inbox_groups()
    assert [group.count for group in groups] == [2, 1]
    with django_capture_on_commit_callbacks(execute=True):
        assert review_faces_dismiss(faces=groups[0].faces) == 2
    assert ReviewFace.objects.count() == 1 and len(review_files(media_root)) == 1
    assert Correction.objects.filter(kind="dismissed").count() == 2
    [named] = identify_path(dev_photos("Kim_Clijsters")[6]).faces
    kept = ReviewFace.objects.get(pk=named.review_face_id)
    with pytest.raises(ReviewError) as refused:
        review_faces_dismiss(faces=[kept])
    assert refused.value.code == "not_unknown"


@pytest.mark.django_db
def test_not_this_person_takes_effect_at_once_and_tightens_at_the_next_training(
    gallery, cached_training, dev_photos, django_user_model
):
    model = train_now()
    user = django_user_model.objects.create_user("olga")
    kim = gallery["Kim_Clijsters"]
    wrong = dev_photos("Kim_Clijsters")[6]
    [face] = identify_path(wrong).faces
    assert face.person_id == kim.pk

    correction = review_face_not_person(
        review_face=ReviewFace.objects.get(pk=face.review_face_id), user=user
    )
    assert correction.kind == "not_person" and correction.person == kim
    assert correction.identification_id == Identification.objects.get().pk
    # The corrected face is now in the inbox.
    assert ReviewFace.objects.get(pk=face.review_face_id).person is None

    [again] = identify_path(wrong).faces
    assert again.person_id is None and again.reason == CORRECTED
    assert again.candidates[0].person_id == kim.pk
    # Her other photos are still hers.
    for photo in dev_photos("Kim_Clijsters")[7:9]:
        assert [f.person_id for f in identify_path(photo).faces] == [kim.pk]

    retrained = train_now()
    limits = retrained.metrics["person_limits"]
    assert set(limits) == {str(kim.pk)}
    assert limits[str(kim.pk)] < model.metrics["calibration"]["threshold"]
    [after] = identify_path(wrong).faces
    assert after.person_id is None and after.threshold == limits[str(kim.pk)]


@pytest.mark.django_db
def test_keep_days_zero_keeps_nothing_and_old_faces_are_purged(
    gallery,
    cached_training,
    dev_photos,
    media_root,
    settings,
    django_capture_on_commit_callbacks,
):
    train_now()
    settings.FACE_REVIEW_KEEP_DAYS = 0
    [face] = identify_path(dev_photos(STRANGER)[0]).faces
    assert face.review_face_id is None and not ReviewFace.objects.exists()
    assert review_files(media_root) == []

    settings.FACE_REVIEW_KEEP_DAYS = 30
    identify_path(dev_photos(STRANGER)[2])
    identify_path(dev_photos(STRANGER)[3])
    old = ReviewFace.objects.order_by("id").first()
    ReviewFace.objects.filter(pk=old.pk).update(seen_at=timezone.now() - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert review_faces_purge() == 1
    assert list(ReviewFace.objects.values_list("pk", flat=True)) != [old.pk]
    assert ReviewFace.objects.count() == 1 and len(review_files(media_root)) == 1
    settings.FACE_REVIEW_KEEP_DAYS = 0
    with django_capture_on_commit_callbacks(execute=True):
        assert review_faces_purge() == 1
    assert review_files(media_root) == []


@pytest.mark.django_db
def test_deleting_a_person_erases_faces_named_them_and_their_negatives(
    gallery, cached_training, dev_photos, media_root, django_capture_on_commit_callbacks
):
    train_now()
    tom = gallery["Tom_Cruise"]
    [first] = identify_path(dev_photos("Tom_Cruise")[8]).faces
    [second] = identify_path(dev_photos("Tom_Cruise")[9]).faces
    assert first.person_id == second.person_id == tom.pk
    review_face_not_person(review_face=ReviewFace.objects.get(pk=first.review_face_id))
    identify_path(dev_photos(STRANGER)[0])  # someone else's face stays
    assert len(review_files(media_root)) == 3

    with django_capture_on_commit_callbacks(execute=True):
        person_remove(person=Person.objects.get(pk=tom.pk))
    assert not ReviewFace.objects.filter(pk=second.review_face_id).exists()
    negative = Correction.objects.get(kind="not_person")
    assert negative.person is None and bytes(negative.data) == b""
    assert len(review_files(media_root)) == 2


@pytest.mark.django_db
def test_identify_command_explains_and_the_purge_is_scheduled(
    gallery, cached_training, dev_photos, django_capture_on_commit_callbacks
):
    import json
    from io import StringIO

    from django.core.management import call_command
    from django_q.models import Schedule

    from recognition import tasks

    train_now()
    stranger = dev_photos(STRANGER)[0]
    out = StringIO()
    call_command("identify", str(stranger), "--json", stdout=out)
    [face] = json.loads(out.getvalue())["faces"]
    assert face["person"] is None and face["reason"] in {"no_close_match", "ambiguous"}
    assert len(face["candidates"]) == 3 and face["cutoff"] < face["distance"]
    assert set(face["candidates"][0]) == {"person_id", "person", "distance"}
    assert face["review_face_id"] == ReviewFace.objects.get().pk
    out = StringIO()
    call_command("identify", str(stranger), stdout=out)
    closest = face["candidates"][0]
    assert (
        f"unknown ({face['reason']}; closest {closest['person']} {closest['distance']:.3f}, "
        f"needs <= {face['cutoff']:.3f})"
    ) in out.getvalue()

    purge = Schedule.objects.get(func="recognition.tasks.purge_review_faces")
    assert purge.schedule_type == Schedule.HOURLY and purge.repeats == -1
    ReviewFace.objects.update(seen_at=timezone.now() - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.purge_review_faces() == 2
    assert not ReviewFace.objects.exists()


@pytest.mark.django_db
def test_a_missing_crop_is_refused_with_a_reason_and_the_others_are_enrolled(
    gallery, cached_training, dev_photos, django_capture_on_commit_callbacks
):
    train_now()
    for photo in alone(dev_photos(STRANGER)):
        identify_path(photo)
    lost, kept = ReviewFace.objects.order_by("id")
    lost.crop.storage.delete(lost.crop.name)
    with django_capture_on_commit_callbacks(execute=True):
        person, outcomes = review_faces_assign(faces=[lost, kept], name="Muhammad Ali")
    assert outcomes[0].rejection is not None and outcomes[0].rejection.code == "unreadable_image"
    assert "is missing" in outcomes[0].rejection.message
    assert outcomes[1].face is not None and person.faces.count() == 1
    assert list(ReviewFace.objects.all()) == [lost]


@pytest.mark.django_db
def test_a_full_disk_costs_the_review_not_the_answer(
    gallery, cached_training, dev_photos, media_root, settings
):
    train_now()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "tests.test_storage_failures.DiskFullStorage"},
    }
    [face] = identify_path(dev_photos(STRANGER)[0]).faces
    assert face.person_id is None and face.review_face_id is None
    assert Identification.objects.count() == 1 and not ReviewFace.objects.exists()
    assert review_files(media_root) == []  # the partly written crop was removed


@pytest.mark.django_db
def test_when_the_rows_cannot_be_written_the_crops_go_too(
    gallery, cached_training, dev_photos, media_root, monkeypatch
):
    train_now()
    written = []

    def refused(parent, children, *, link):
        written.extend(child.crop.name for child in children if isinstance(child, ReviewFace))
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(identify_service, "insert_family", refused)
    with pytest.raises(DatabaseError):
        identify_path(dev_photos(STRANGER)[0])
    assert len(written) == 1  # the crop was stored before the rows failed...
    assert review_files(media_root) == []  # ...and removed after
    assert not Identification.objects.exists() and not ReviewFace.objects.exists()
