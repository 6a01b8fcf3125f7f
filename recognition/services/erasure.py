"""Erasing a deleted person from what outlives their rows: audit answers and model files.

Deleting a Person removes their photos and embeddings (cascade). What still named them
or held their biometric template: the ``results`` of past identifications (their name),
and every trained model whose file holds their centroid and whose label map names them.
The audit keeps that a known face was seen (``known_count``, an ``erased`` flag); the
model files go, and those models say why they can no longer be activated. The active
model keeps answering until the retrain a deletion queues replaces it (it never names a
deleted person: identification drops them); then its file goes too.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from people.models import Person
from recognition.model_files import model_file_delete
from recognition.models import Identification, TrainedModel

ERASED_NOTE = (
    "Its file was removed: it held the face template of a person who has since been "
    "deleted. Train a new model instead."
)


def identifications_redact(*, person_id: int) -> int:
    """Remove ``person_id``'s name from every audit row; returns how many changed.

    Call it before the person is deleted: the rows are found through their links to
    the people they named, which the deletion removes.
    """
    changed = 0
    with transaction.atomic():
        named = Identification.objects.filter(people__id=person_id).values("pk")
        for record in Identification.objects.select_for_update().filter(pk__in=named):
            results = [_redacted(face, person_id) for face in record.results]
            if results != record.results:
                record.results = results
                record.save(update_fields=["results"])
                changed += 1
    return changed


def _redacted(face: dict[str, Any], person_id: int) -> dict[str, Any]:
    if face.get("person_id") != person_id:
        return face
    # A known face was seen; who it was is erased with them.
    return {**face, "person_id": None, "person": None, "name": None, "erased": True}


def models_forget_person(*, person_id: int) -> list[int]:
    """Erase ``person_id`` from every model: names redacted, files removed.

    The active model keeps its file (it still answers for everyone else, and never
    names a deleted person); :func:`models_purge_deleted` removes it once another model
    is active. Returns the ids of the models whose file was removed.
    """
    key = str(person_id)
    removed = []
    with transaction.atomic():
        for model in TrainedModel.objects.select_for_update().order_by("id"):
            holds = any(
                str(entry.get("person_id")) == key for entry in (model.label_map or {}).values()
            )
            if not holds:
                continue
            _redact_model(model, person_id)
            fields = ["label_map", "metrics"]
            if model.file and not model.is_active:
                _erase_file(model)
                fields += ["file", "error"]
                removed.append(model.pk)
            model.save(update_fields=fields)
    return removed


def models_purge_deleted() -> list[int]:
    """Remove the files of inactive models that hold anyone no longer enrolled."""
    live = set(Person.objects.values_list("pk", flat=True))
    removed = []
    with transaction.atomic():
        for model in (
            TrainedModel.objects.select_for_update().exclude(file="").filter(is_active=False)
        ):
            ids = {int(entry["person_id"]) for entry in (model.label_map or {}).values()}
            if ids - live:
                _erase_file(model)
                model.save(update_fields=["file", "error"])
                removed.append(model.pk)
    return removed


def model_holds_deleted_people(model: TrainedModel) -> list[int]:
    """Ids in ``model``'s label map whose Person no longer exists."""
    ids = {int(entry["person_id"]) for entry in (model.label_map or {}).values()}
    return sorted(ids - set(Person.objects.filter(pk__in=ids).values_list("pk", flat=True)))


def _redact_model(model: TrainedModel, person_id: int) -> None:
    for entry in (model.label_map or {}).values():
        if str(entry.get("person_id")) == str(person_id):
            entry["name"] = None
            entry["erased"] = True
    per_person = (model.metrics or {}).get("per_person") or {}
    if str(person_id) in per_person:
        per_person[str(person_id)]["name"] = None


def _erase_file(model: TrainedModel) -> None:
    """Clear the row's file now, remove the file and its search index (which holds the
    person's embeddings too) once the transaction commits."""
    names = [model.file, (model.metrics or {}).get("search_index", "")]

    def remove() -> None:
        for name in names:
            model_file_delete(name=name)

    transaction.on_commit(remove)
    model.file = ""
    model.error = (f"{model.error} {ERASED_NOTE}" if model.error else ERASED_NOTE)[:5000]
