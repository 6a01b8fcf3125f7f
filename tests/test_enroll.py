"""recognition.services.enroll.face_image_enroll on real photos."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from people.models import FaceImage, Person
from people.services import person_create
from recognition.analysis import Limits
from recognition.models import Embedding
from recognition.rejections import PhotoRejected
from recognition.services.enroll import face_image_enroll
from tests.conftest import media_files
from tests.imagefiles import encode, png_declaring, rgb_of

# Enrollment rules on each engine: `make test` runs this module with FACE_ENGINE=dlib too.
pytestmark = [pytest.mark.django_db, pytest.mark.engine_dlib]

# Two JPEG encodings of one photo embed this close: 0.1 for dlib, and for opencv the same
# share of its same/other-person equal-error distance on dev/ pairs (dlib 0.62, SFace
# 1.136: bench/engines.py), 0.1 x 1.136 / 0.62 = 0.18.
SAME_PHOTO_DISTANCE = {"dlib": 0.1, "opencv": 0.18}


@pytest.fixture
def person() -> Person:
    return person_create(name="Test Person")


def refused(person: Person, data: bytes, name: str, media: Path) -> PhotoRejected:
    """Enroll ``data``, expect a rejection, and check that nothing was stored."""
    before = (FaceImage.objects.count(), Embedding.objects.count(), media_files(media))
    with pytest.raises(PhotoRejected) as info:
        face_image_enroll(person=person, source=data, name=name)
    after = (FaceImage.objects.count(), Embedding.objects.count(), media_files(media))
    assert after == before
    return info.value


def test_three_people_three_photos_each_give_nine_embeddings(dev_photos, media_root):
    for folder in ["Tom_Cruise", "Keanu_Reeves", "Angelina_Jolie"]:
        person = person_create(name=folder.replace("_", " "))
        for path in dev_photos(folder)[:3]:
            face = face_image_enroll(person=person, source=path.read_bytes(), name=path.name)
            assert face.original_name == path.name
            assert (face.width, face.height) == (150, 150)
    assert FaceImage.objects.count() == 9
    vectors = [e.vector() for e in Embedding.objects.all()]
    assert len(vectors) == 9
    for vector in vectors:
        assert vector.dtype == np.float32 and vector.shape == (128,)
        assert np.isfinite(vector).all() and np.linalg.norm(vector) > 0.1
    engine = Limits.from_settings().face_engine()
    assert all(
        (e.engine, e.engine_version) == (engine.name, engine.version)
        for e in Embedding.objects.all()
    )
    if engine.name == "opencv":  # SFace vectors are stored unit-length
        assert all(abs(np.linalg.norm(vector) - 1.0) < 1e-5 for vector in vectors)
    assert len(list(media_root.rglob("*.jpg"))) == 9


def test_stored_file_is_a_clean_reencoded_jpeg_with_a_generated_name(dev_photos, person):
    path = dev_photos("Tom_Cruise")[0]
    face = face_image_enroll(person=person, source=path.open("rb"), name=path.name)
    assert face.image.name.startswith("faces/") and path.stem not in face.image.name
    stored = Path(face.image.path).read_bytes()
    assert stored.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and not image.getexif()
    top, right, bottom, left = face.box
    assert 0 <= left < right <= 150 and 0 <= top < bottom <= 150


def test_no_face_photo_is_refused(faces_dir, person, media_root):
    path = sorted((faces_dir / "noface").glob("*.jpg"))[0]
    assert refused(person, path.read_bytes(), path.name, media_root).code == "no_face"


def test_group_photo_is_multiple_faces_with_boxes(faces_dir, person, media_root):
    data = (faces_dir / "group" / "fr_two_people.jpg").read_bytes()
    error = refused(person, data, "fr_two_people.jpg", media_root)
    assert error.code == "multiple_faces"
    assert len(error.boxes) == 2
    width, height = Image.open(io.BytesIO(data)).size
    for top, right, bottom, left in error.boxes:
        assert 0 <= left < right <= width and 0 <= top < bottom <= height
    assert error.as_dict()["boxes"] == [list(box) for box in error.boxes]


def test_every_noface_photo_is_no_face_and_every_group_photo_multiple_faces(
    faces_dir, person, media_root
):
    for path in sorted((faces_dir / "noface").glob("*.jpg")):
        error = refused(person, path.read_bytes(), path.name, media_root)
        assert (error.code, error.message) == ("no_face", f"No face found in {path.name}."), path
    for path in sorted((faces_dir / "group").glob("*.jpg")):
        error = refused(person, path.read_bytes(), path.name, media_root)
        assert error.code == "multiple_faces" and len(error.boxes) >= 2, path.name
        assert error.message == (
            f"{len(error.boxes)} faces found in {path.name}; upload a photo of this person alone."
        )


def test_small_bystander_at_the_edge_does_not_block_the_subject(faces_dir, person):
    path = faces_dir / "dev" / "Angelina_Jolie" / "Angelina_Jolie_0004.jpg"
    assert len(Limits.from_settings().face_engine().detect(rgb_of(path.read_bytes()))) == 2
    face = face_image_enroll(person=person, source=path.read_bytes(), name=path.name)
    top, right, bottom, left = face.box
    assert left < 75 < right and top < 75 < bottom  # the central subject


def test_text_renamed_jpg_is_unreadable(person, media_root):
    error = refused(person, b"just some text\n" * 50, "notes.jpg", media_root)
    assert error.code == "unreadable_image"


def test_truncated_jpeg_is_unreadable(dev_photos, person, media_root):
    data = dev_photos("Tom_Cruise")[0].read_bytes()
    error = refused(person, data[: len(data) // 3], "cut.jpg", media_root)
    assert error.code == "unreadable_image"


def test_one_pixel_image_is_refused(person, media_root):
    data = encode(Image.new("RGB", (1, 1), (200, 150, 120)), "PNG")
    assert refused(person, data, "dot.png", media_root).code in {"unreadable_image", "no_face"}


@pytest.mark.parametrize("side", [30000, 9000])
def test_png_declaring_huge_size_is_too_large(side, person, media_root):
    data = png_declaring(side, side)
    assert len(data) < 50_000
    assert refused(person, data, "bomb.png", media_root).code == "too_large"


def test_bytes_over_the_limit_are_too_large(dev_photos, person, media_root, settings):
    data = dev_photos("Tom_Cruise")[0].read_bytes()
    settings.FACE_MAX_UPLOAD_BYTES = len(data) - 1
    assert refused(person, data, "big.jpg", media_root).code == "too_large"
    assert refused(person, io.BytesIO(data), "big.jpg", media_root).code == "too_large"


def test_face_too_small_is_refused(dev_photos, person, media_root, settings):
    settings.FACE_MIN_SIZE = 140
    data = dev_photos("Tom_Cruise")[0].read_bytes()
    error = refused(person, data, "small.jpg", media_root)
    assert error.code == "face_too_small" and len(error.boxes) == 1


def test_same_photo_twice_is_duplicate(dev_photos, person, media_root):
    data = dev_photos("Tom_Cruise")[0].read_bytes()
    face_image_enroll(person=person, source=data, name="a.jpg")
    assert refused(person, data, "b.jpg", media_root).code == "duplicate"
    other = person_create(name="Someone Else")
    face_image_enroll(person=other, source=data, name="a.jpg")  # per person
    assert FaceImage.objects.count() == 2


def test_sideways_portrait_with_exif_orientation_enrolls_the_same_face(dev_photos, media_root):
    upright = rgb_of(dev_photos("Angelina_Jolie")[0].read_bytes())[:, 20:130]  # 110x150
    upright_jpeg = encode(Image.fromarray(upright), "JPEG", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera stored it rotated: turn 90 degrees clockwise to view
    sideways = Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1)))
    assert sideways.size == (150, 110)
    sideways_jpeg = encode(sideways, "JPEG", quality=95, exif=exif.tobytes())

    first = face_image_enroll(
        person=person_create(name="A"), source=upright_jpeg, name="upright.jpg"
    )
    second = face_image_enroll(
        person=person_create(name="B"), source=sideways_jpeg, name="sideways.jpg"
    )
    assert (second.width, second.height) == (110, 150)
    distance = np.linalg.norm(first.embedding.vector() - second.embedding.vector())
    assert distance < SAME_PHOTO_DISTANCE[Limits.from_settings().engine]
    assert max(abs(a - b) for a, b in zip(first.box, second.box, strict=True)) <= 4
    with Image.open(second.image.path) as stored:
        assert stored.size == (110, 150)  # stored upright, orientation tag dropped
        assert not stored.getexif()


def test_large_hires_photo_enrolls_with_box_in_original_pixels(faces_dir, person):
    path = faces_dir / "dev_hires" / "Barack_Obama" / "Barack_Obama__fr_obama3.jpg"
    face = face_image_enroll(person=person, source=path.read_bytes(), name=path.name)
    assert face.width * face.height >= 3_000_000
    top, right, bottom, left = face.box
    assert right - left > 200  # the box is in original pixels, not the scanned copy
    assert 0 <= left < right <= face.width and 0 <= top < bottom <= face.height
    assert face.embedding.vector().shape == (128,)
