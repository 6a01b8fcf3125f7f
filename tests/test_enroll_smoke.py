from __future__ import annotations

import numpy as np
import pytest

from people.models import FaceImage
from people.services import person_create
from recognition.models import Embedding
from recognition.rejections import PhotoRejected
from recognition.services.enroll import face_image_enroll


@pytest.mark.django_db
def test_three_people_three_photos_each_give_nine_embeddings(dev_photos, media_root):
    for name in ["Tom_Cruise", "Keanu_Reeves", "Angelina_Jolie"]:
        person = person_create(name=name.replace("_", " "))
        for path in dev_photos(name)[:3]:
            face_image_enroll(person=person, source=path.read_bytes(), name=path.name)
    assert FaceImage.objects.count() == 9
    vectors = [e.vector() for e in Embedding.objects.all()]
    assert len(vectors) == 9
    for vector in vectors:
        assert vector.dtype == np.float32 and vector.shape == (128,)
        assert np.isfinite(vector).all() and np.linalg.norm(vector) > 0.1
    assert len(list(media_root.rglob("*.jpg"))) == 9


@pytest.mark.django_db
def test_group_photo_is_multiple_faces(faces_dir, media_root):
    person = person_create(name="Someone")
    data = (faces_dir / "group" / "fr_two_people.jpg").read_bytes()
    with pytest.raises(PhotoRejected) as info:
        face_image_enroll(person=person, source=data, name="fr_two_people.jpg")
    assert info.value.code == "multiple_faces"
    assert len(info.value.boxes) == 2
    assert FaceImage.objects.count() == 0
    assert not any(media_root.rglob("*.*"))
