"""Photos, model files and search indexes go through Django's storage API only.

A deployment that points STORAGES["default"] at shared storage must get every file
there: this runs enroll -> train -> identify -> nearest photos -> prune with the
default storage somewhere else than MEDIA_ROOT and checks where the files are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from people.models import FaceImage
from recognition import loading
from recognition.analysis import Limits
from recognition.models import ReviewFace
from recognition.services.identify import face_identify
from tests.conftest import media_files
from tests.recognition_support import GALLERY, UNSEEN, cached_training, enroll, train_now

SAME_PERSON = {"dlib": 0.6, "opencv": 1.13}

__all__ = ["cached_training"]


@pytest.fixture
def elsewhere(settings, tmp_path: Path) -> Path:
    location = tmp_path / "shared-storage"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    loading.cache_clear()
    yield location
    loading.cache_clear()


@pytest.mark.django_db
def test_the_whole_flow_reads_and_writes_only_through_the_storage(
    elsewhere, media_root, dev_photos, cached_training, settings
):
    settings.FACE_MODELS_KEEP = 1
    people = {name: enroll(name.replace("_", " "), dev_photos(name)[:5]) for name in GALLERY}
    first = train_now()
    second = train_now()
    first.refresh_from_db()
    assert first.file == "" and second.is_active  # pruned, and its index with it

    probe = dev_photos("Tom_Cruise")[UNSEEN]  # one face for both engines
    result = face_identify(source=probe.read_bytes(), name=probe.name)
    assert [face.person_id for face in result.faces] == [people["Tom_Cruise"].pk]

    index = loading.photo_index(loading.active_model().record)
    assert len(index) == 25
    nearest = index.nearest(result_embedding(probe), k=3)
    photos = FaceImage.objects.in_bulk([int(i) for i in nearest.ids[0]])
    assert {photos[int(i)].person_id for i in nearest.ids[0]} == {people["Tom_Cruise"].pk}
    # Within the engine's same-person distance: face_recognition's 0.6 for dlib, SFace's
    # equal-error distance on dev/ pairs for opencv (bench/engines.py).
    assert (nearest.distances[0] < SAME_PERSON[Limits.from_settings().engine]).all()

    assert media_files(media_root) == []  # nothing beside MEDIA_ROOT's storage location
    stored = {p.relative_to(elsewhere).as_posix() for p in media_files(elsewhere)}
    assert stored == {
        second.file,
        second.metrics["search_index"],
        *(face.image.name for face in FaceImage.objects.all()),
        # The identified face kept for review (FACE_REVIEW_KEEP_DAYS), through the storage too.
        *(kept.crop.name for kept in ReviewFace.objects.all()),
    }
    assert ReviewFace.objects.count() == 1
    assert len([name for name in stored if name.startswith("faces/")]) == 25


def result_embedding(path: Path):  # type: ignore[no-untyped-def]
    from recognition.analysis import Limits, analyze_all_faces

    _image, found = analyze_all_faces(
        path.read_bytes(), name=path.name, limits=Limits.from_settings()
    )
    return found[0].embedding[None]


@pytest.mark.django_db
def test_a_model_without_its_index_says_so(elsewhere, dev_photos, cached_training):
    for name in GALLERY[:2]:
        enroll(name, dev_photos(name)[:3])
    model = train_now()
    (elsewhere / model.metrics["search_index"]).unlink()
    loading.cache_clear()
    with pytest.raises(loading.ModelLoadError, match="does not exist"):
        loading.photo_index(model)
    model.metrics = {k: v for k, v in model.metrics.items() if k != "search_index"}
    with pytest.raises(loading.ModelLoadError, match="no search index"):
        loading.photo_index(model)
