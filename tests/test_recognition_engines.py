"""Embeddings and models know their engine: mixing refused, identify with the model's engine."""

from __future__ import annotations

import pytest

from recognition.analysis import Limits
from recognition.models import Embedding, TrainedModel
from recognition.services.identify import ModelLoadError, face_identify
from recognition.services.train import TrainingError
from tests.recognition_support import UNSEEN, cached_training, enroll, train_now

__all__ = ["cached_training"]

pytestmark = [pytest.mark.django_db, pytest.mark.engine_dlib]
PEOPLE = ["Kim_Clijsters", "Tom_Cruise", "Jennifer_Lopez"]


def other_engine(engine: str) -> str:
    return "dlib" if engine == "opencv" else "opencv"


def test_embeddings_and_the_model_record_their_engine(dev_photos, cached_training, settings):
    for name in PEOPLE:
        enroll(name.replace("_", " "), dev_photos(name)[:3])
    engine = Limits.from_settings().face_engine()
    assert set(Embedding.objects.values_list("engine", "engine_version")) == {
        (engine.name, engine.version)
    }
    model = train_now()
    assert (model.engine, model.engine_version) == (engine.name, engine.version)
    assert model.metrics["calibration"]["engine"] == engine.name


def test_a_gallery_mixing_engines_is_refused_with_what_to_do(dev_photos, cached_training, settings):
    first = settings.FACE_ENGINE
    for name in PEOPLE[:2]:
        enroll(name.replace("_", " "), dev_photos(name)[:3])
    settings.FACE_ENGINE = other_engine(first)
    enroll("Jennifer Lopez", dev_photos("Jennifer_Lopez")[:3])
    with pytest.raises(TrainingError) as info:
        train_now()
    message = str(info.value)
    assert f"6 {first} (" in message and f"3 {settings.FACE_ENGINE} (" in message
    assert "cannot be compared" in message and "manage.py reembed" in message
    failed = TrainedModel.objects.get()
    assert failed.status == TrainedModel.Status.FAILED and not failed.is_active
    assert "more than one face engine" in failed.error


def test_identification_embeds_with_the_active_models_engine(dev_photos, cached_training, settings):
    trained_with = settings.FACE_ENGINE
    people = {name: enroll(name.replace("_", " "), dev_photos(name)[:5]) for name in PEOPLE}
    model = train_now()
    settings.FACE_ENGINE = other_engine(trained_with)  # switched, not re-embedded yet
    probe = dev_photos("Tom_Cruise")[UNSEEN]
    result = face_identify(source=probe.read_bytes(), name=probe.name)
    assert result.model == model and model.engine == trained_with
    assert [face.person_id for face in result.faces] == [people["Tom_Cruise"].pk]
    assert result.faces[0].distance <= model.metrics["calibration"]["threshold"]


def test_a_model_of_another_engine_version_is_refused_not_compared(dev_photos, cached_training):
    for name in PEOPLE[:2]:
        enroll(name.replace("_", " "), dev_photos(name)[:3])
    model = train_now()
    TrainedModel.objects.filter(pk=model.pk).update(engine_version="an-older-version")
    probe = dev_photos("Tom_Cruise")[UNSEEN]
    with pytest.raises(ModelLoadError, match=r"an-older-version.*manage\.py reembed"):
        face_identify(source=probe.read_bytes(), name=probe.name)
