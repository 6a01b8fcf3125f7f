"""Workflows on the gallery that span people and recognition.

People's own services change records only; what else has to happen when the gallery
changes (a retrain once someone leaves it) is decided here, by the app that owns the
process, and every delivery path (admin, API, web) calls these functions.
"""

from __future__ import annotations

from django.db import transaction

from people.models import Person
from people.services import person_delete
from recognition.services.erasure import identifications_redact, models_forget_person
from recognition.services.review import review_faces_forget_person
from recognition.services.train import model_train_request_if_trained


@transaction.atomic
def person_remove(*, person: Person) -> None:
    """Delete a person (photos, files, embeddings), erase them, queue a retrain.

    Their name leaves the audit trail and every model's label map, and their template
    every model file but the active one, which the retrain replaces (identification
    never names a deleted person meanwhile); see recognition.services.erasure.
    The faces kept for review that were named them go, with their crops, and their
    "not this person" examples lose their embeddings (recognition.services.review).
    """
    person_id = person.pk
    identifications_redact(person_id=person_id)  # before the links go with them
    review_faces_forget_person(person=person)
    person_delete(person=person)
    models_forget_person(person_id=person_id)
    model_train_request_if_trained()
