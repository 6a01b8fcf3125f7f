"""Workflows on the gallery that span people and recognition.

People's own services change records only; what else has to happen when the gallery
changes (a retrain once someone leaves it) is decided here, by the app that owns the
process, and every delivery path (admin, API, web) calls these functions.
"""

from __future__ import annotations

from django.db import transaction

from people.models import Person
from people.services import person_delete
from recognition.services.train import model_train_request_if_trained


@transaction.atomic
def person_remove(*, person: Person) -> None:
    """Delete a person (photos, files, embeddings) and queue a retrain without them.

    Identification already hides deleted people; the retrain drops them from the model.
    """
    person_delete(person=person)
    model_train_request_if_trained()
