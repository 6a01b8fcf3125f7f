"""Merging two records of one person: photos and embeddings move, one record stays.

A workflow across both apps (people's rows, recognition's embeddings and model), so it
lives here; the web page, the API and the admin call :func:`person_merge`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from people.models import FaceImage, Person
from people.services import files_delete_on_commit
from recognition.models import Identification, TrainedModel
from recognition.services.train import model_train_request_if_trained


class MergeError(Exception):
    """The merge cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class MergeResult:
    person: Person  # the record that stays
    moved: int  # photos (with their embeddings) moved over
    duplicates: int  # photos the kept record already had (same file): removed
    retrain: TrainedModel | None  # the retrain queued (None: no model trained yet)


def person_merge(*, source: Person, into: Person) -> MergeResult:
    """Move ``source``'s photos and embeddings to ``into``, then delete ``source``.

    A photo ``into`` already has (same content) is dropped rather than stored twice.
    ``into`` keeps its name; it takes ``source``'s external id when it has none, and
    ``source``'s notes are appended. Past identifications that named ``source`` are
    listed under ``into``. A retrain is queued once committed (when a model exists),
    since the active model still knows two people.
    """
    if source.pk == into.pk:
        raise MergeError("A person cannot be merged into themselves.")
    with transaction.atomic():
        source = Person.objects.select_for_update().get(pk=source.pk)
        into = Person.objects.select_for_update().get(pk=into.pk)
        kept_hashes = set(into.faces.values_list("sha256", flat=True))
        duplicates = list(FaceImage.objects.filter(person=source, sha256__in=kept_hashes))
        files_delete_on_commit([face.image.name or "" for face in duplicates])
        FaceImage.objects.filter(pk__in=[face.pk for face in duplicates]).delete()
        moved = FaceImage.objects.filter(person=source).update(person=into)
        for record in Identification.objects.filter(people=source):
            record.people.add(into)
        _absorb_details(source, into)
        source.delete()
        retrain = model_train_request_if_trained()
    return MergeResult(person=into, moved=moved, duplicates=len(duplicates), retrain=retrain)


def _absorb_details(source: Person, into: Person) -> None:
    changed = []
    if source.external_id and not into.external_id:
        external_id = source.external_id
        Person.objects.filter(pk=source.pk).update(external_id=None)  # unique: free it first
        into.external_id = external_id
        changed.append("external_id")
    if source.notes.strip():
        parts = (into.notes.strip(), source.notes.strip())
        into.notes = "\n\n".join(part for part in parts if part)
        changed.append("notes")
    if changed:
        into.save(update_fields=[*changed, "updated_at"])
