"""Identification with real photos: names, unknowns, group photos, deletions, bad files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recognition.analysis import Limits
from recognition.images import decode
from recognition.models import Identification, TrainedModel
from recognition.rejections import PhotoRejected
from recognition.services.activation import ModelNotActivatable, model_activate
from recognition.services.gallery import person_remove
from recognition.services.identify import ModelLoadError, NoActiveModel, face_identify
from tests.recognition_support import (
    GALLERY,
    STRANGER,
    STRANGER_PHOTOS,
    UNSEEN,
    cached_training,
    enroll,
    gallery,
    train_now,
)

__all__ = ["cached_training", "gallery"]  # fixtures used below
pytestmark = pytest.mark.engine_dlib  # `make test` runs these with FACE_ENGINE=dlib too


def identify_path(path: Path, **kwargs):
    return face_identify(source=path.read_bytes(), name=path.name, **kwargs)


@pytest.mark.django_db
def test_unseen_photos_are_named_and_a_stranger_is_unknown(
    gallery, cached_training, dev_photos, django_user_model
):
    model = train_now()
    assert model.status == TrainedModel.Status.SUCCEEDED and model.is_active
    user = django_user_model.objects.create_user("alice", password="x")
    for name in GALLERY:
        unseen = dev_photos(name)[UNSEEN]
        result = identify_path(unseen, user=user, channel="web")
        assert [face.name for face in result.faces] == [gallery[name].name], unseen.name
        face = result.faces[0]
        assert face.person_id == gallery[name].pk
        assert 0 < face.confidence <= 1
        # Within the calibrated limit (tighter than face_recognition's 0.6 for dlib).
        assert 0 < face.distance <= model.metrics["calibration"]["threshold"]
        assert result.record.people.get() == gallery[name]
    for photo in dev_photos(STRANGER)[STRANGER_PHOTOS]:
        result = identify_path(photo)
        assert len(result.faces) == 1
        assert result.faces[0].name is None and result.faces[0].person_id is None
        assert result.faces[0].distance > 0 and result.faces[0].confidence is None
        assert result.record.results[0]["confidence"] is None
    record = Identification.objects.filter(channel="web").first()
    assert record.user == user and record.model_id == model.pk
    assert record.face_count == 1 and record.known_count == 1
    assert len(record.image_sha256) == 64
    assert Identification.objects.count() == len(GALLERY) + 3


@pytest.mark.django_db
def test_group_photo_obama_left_biden_right_in_original_coordinates(
    faces_dir, dev_photos, cached_training
):
    hires = sorted((faces_dir / "dev_hires" / "Barack_Obama").glob("*.jpg"))
    obama = enroll("Barack Obama", hires)
    biden = enroll("Joseph Biden", dev_photos("Joseph_Biden"))
    enroll("Tom Cruise", dev_photos("Tom_Cruise")[:5])
    train_now()
    group = faces_dir / "group" / "fr_two_people.jpg"
    result = identify_path(group, annotate=True)
    assert [face.person_id for face in result.faces] == [obama.pk, biden.pk]
    data = group.read_bytes()
    image = decode(data, name=group.name, max_bytes=len(data), max_pixels=10**9)
    assert (result.width, result.height) == (image.width, image.height)
    detected = Limits.from_settings().face_engine().detect(image.rgb)
    expected = sorted((face.box for face in detected), key=lambda box: box[3])
    assert [face.box for face in result.faces] == expected
    for top, right, bottom, left in expected:
        assert 0 <= left < right <= image.width and 0 <= top < bottom <= image.height
    annotated = Image.open(io.BytesIO(result.annotated_jpeg))
    assert annotated.format == "JPEG" and annotated.size == (image.width, image.height)
    # The drawing changed the pixels around the first face's box.
    drawn = np.asarray(annotated.convert("RGB"), dtype=np.int16)
    top, right, bottom, left = expected[0]
    assert np.abs(drawn[top:bottom, left] - image.rgb[top:bottom, left]).mean() > 40


@pytest.mark.django_db
def test_deleted_person_is_never_returned_even_by_the_old_model(
    gallery, cached_training, dev_photos
):
    model = train_now()
    photo = dev_photos("Tom_Cruise")[UNSEEN]
    assert identify_path(photo).faces[0].person_id == gallery["Tom_Cruise"].pk
    person_remove(person=gallery["Tom_Cruise"])
    # The same (old) model still serves, and a retrain was requested.
    assert TrainedModel.objects.get(is_active=True) == model
    assert TrainedModel.objects.filter(status=TrainedModel.Status.QUEUED).count() == 1
    result = identify_path(photo)
    assert [(face.person_id, face.name) for face in result.faces] == [(None, None)]
    assert not result.record.people.exists()
    assert "Tom Cruise" not in str(result.record.results)
    # Everybody else is still named.
    other = dev_photos("Jennifer_Lopez")[UNSEEN]
    assert identify_path(other).faces[0].person_id == gallery["Jennifer_Lopez"].pk


@pytest.mark.django_db
def test_without_a_model_identification_says_so():
    with pytest.raises(NoActiveModel, match="no model has been trained yet"):
        face_identify(source=b"not even read", name="x.jpg")


@pytest.mark.django_db
def test_no_face_is_an_empty_answer_and_garbage_is_rejected(gallery, cached_training, faces_dir):
    train_now()
    cat = sorted((faces_dir / "noface").glob("*.jpg"))[0]
    result = identify_path(cat)
    assert result.faces == [] and result.record.face_count == 0
    with pytest.raises(PhotoRejected) as info:
        face_identify(source=b"GIF89a not really", name="bad.gif")
    assert info.value.code == "unreadable_image"


@pytest.mark.django_db
@pytest.mark.parametrize("damage", ["wrong_version", "corrupted", "missing"])
def test_a_bad_model_file_is_a_clear_error_not_a_crash(
    gallery, cached_training, dev_photos, media_root, damage
):
    model = train_now()
    path = media_root / model.file
    if damage == "wrong_version":
        _rewrite_header(path, format_version=99)
        expected = "format version 99"
    elif damage == "corrupted":
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2 : len(raw) // 2 + 64] = b"\0" * 64
        path.write_bytes(bytes(raw))
        expected = "corrupted"
    else:
        path.unlink()
        expected = "does not exist"
    photo = dev_photos("Tom_Cruise")[UNSEEN]
    with pytest.raises(ModelLoadError, match=expected) as info:
        identify_path(photo)
    assert isinstance(info.value, NoActiveModel)  # the API's 409 handles it too
    with pytest.raises(ModelNotActivatable, match=expected):
        model_activate(model=model)
    # The process still serves once a usable model is active again.
    assert train_now().is_active
    assert identify_path(photo).faces[0].person_id == gallery["Tom_Cruise"].pk


def _rewrite_header(path: Path, **changes: object) -> None:
    import json

    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    header = json.loads(arrays["header"].tobytes())
    header.update(changes)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)
