"""An answer's evidence in one query: live names, corrections, the named people's photos.

Real enrolled faces; the corrections are stored vectors of other real faces. Runs on
both databases in CI (the UNION ALL's columns must line up on SQLite and PostgreSQL).
"""

from __future__ import annotations

import numpy as np
import pytest

from people.models import Person
from recognition.evidence import answer_evidence
from recognition.models import Correction, Embedding
from tests.recognition_support import enroll

ENCODER = "opencv/some-version"


def vectors_of(person: Person) -> dict[int, np.ndarray]:
    rows = Embedding.objects.filter(face_image__person=person).values_list("face_image_id", "data")
    return {photo: np.frombuffer(bytes(data), dtype="<f4") for photo, data in rows}


@pytest.mark.django_db
def test_names_corrections_and_photos_of_the_people_asked_about(dev_photos):
    tom = enroll("Tom Cruise", dev_photos("Tom_Cruise")[:3])
    kim = enroll("Kim Clijsters", dev_photos("Kim_Clijsters")[:2])
    gone = enroll("Gordon Brown", dev_photos("Gordon_Brown")[:2])
    gone_id = gone.pk
    gone.delete()
    stranger = next(iter(vectors_of(kim).values()))
    Correction.objects.create(
        kind=Correction.Kind.NOT_PERSON, person=tom, data=stranger.tobytes(), encoder=ENCODER
    )
    # Another vector space, an assignment (no vector), and someone not asked about.
    Correction.objects.create(
        kind=Correction.Kind.NOT_PERSON, person=tom, data=stranger.tobytes(), encoder="dlib/x"
    )
    Correction.objects.create(kind=Correction.Kind.ASSIGNED, person=tom)
    Correction.objects.create(kind=Correction.Kind.NOT_PERSON, person=tom, encoder=ENCODER)
    other = enroll("Jennifer Lopez", dev_photos("Jennifer_Lopez")[:2])
    Correction.objects.create(
        kind=Correction.Kind.NOT_PERSON, person=other, data=stranger.tobytes(), encoder=ENCODER
    )

    evidence = answer_evidence(near=[tom.pk, kim.pk, gone_id], named=[tom.pk], encoder=ENCODER)

    assert evidence.names == {tom.pk: "Tom Cruise", kim.pk: "Kim Clijsters"}
    assert set(evidence.negatives) == {tom.pk}
    assert evidence.negatives[tom.pk].shape == (1, 128)
    np.testing.assert_array_equal(evidence.negatives[tom.pk][0], stranger)
    assert set(evidence.photos) == {tom.pk}  # only the people named
    ids, vectors = evidence.photos[tom.pk]
    expected = vectors_of(tom)
    assert sorted(ids.tolist()) == sorted(expected)
    for photo_id, vector in zip(ids.tolist(), vectors, strict=True):
        np.testing.assert_array_equal(vector, expected[photo_id])


@pytest.mark.django_db
def test_nobody_near_reads_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        evidence = answer_evidence(near=[], named=[], encoder=ENCODER)
    assert evidence.names == {} and evidence.negatives == {} and evidence.photos == {}


@pytest.mark.django_db
def test_one_query_for_all_of_it(dev_photos, django_assert_num_queries):
    tom = enroll("Tom Cruise", dev_photos("Tom_Cruise")[:2])
    kim = enroll("Kim Clijsters", dev_photos("Kim_Clijsters")[:2])
    with django_assert_num_queries(1):
        evidence = answer_evidence(near=[tom.pk, kim.pk], named=[tom.pk, kim.pk], encoder=ENCODER)
    assert set(evidence.photos) == {tom.pk, kim.pk} and evidence.negatives == {}
