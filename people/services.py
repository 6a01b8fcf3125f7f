"""Writes for people and their photos."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import transaction

from accounts.users import User, user_or_none
from people.models import FaceImage, Person
from people.selectors import person_same_name


class PersonNameTaken(Exception):
    """Someone else already has this name (ignoring case); ``existing`` are they.

    Two records for one person split their photos and confuse training, so a second
    "Keanu Reeves" needs the caller to say it is intended (a namesake).
    """

    def __init__(self, name: str, existing: list[Person]) -> None:
        self.name = name
        self.existing = existing
        ids = ", ".join(f"#{person.pk}" for person in existing)
        super().__init__(
            f"A person named “{existing[0].name}” already exists ({ids}). Add photos to "
            "them, or confirm that this is a different person with the same name."
        )


def _check_name_free(name: str, *, exclude_pk: int | None, allow_duplicate_name: bool) -> None:
    if allow_duplicate_name:
        return
    existing = list(person_same_name(name=name, exclude_pk=exclude_pk))
    if existing:
        raise PersonNameTaken(name.strip(), existing)


def person_create(
    *,
    name: str,
    external_id: str | None = None,
    notes: str = "",
    created_by: User = None,
    allow_duplicate_name: bool = False,
) -> Person:
    """Raises PersonNameTaken unless ``allow_duplicate_name``, ValidationError."""
    _check_name_free(name, exclude_pk=None, allow_duplicate_name=allow_duplicate_name)
    person = Person(
        name=name.strip(),
        external_id=(external_id or "").strip() or None,
        notes=notes,
        created_by=user_or_none(created_by),
    )
    person.full_clean()
    person.save()
    return person


def person_update(
    *,
    person: Person,
    name: str | None = None,
    external_id: str | None = None,
    notes: str | None = None,
    allow_duplicate_name: bool = False,
) -> Person:
    """Raises PersonNameTaken (a rename onto someone else's name) unless allowed."""
    if name is not None and name.strip().lower() != person.name.lower():
        _check_name_free(name, exclude_pk=person.pk, allow_duplicate_name=allow_duplicate_name)
    if name is not None:
        person.name = name.strip()
    if external_id is not None:
        person.external_id = external_id.strip() or None
    if notes is not None:
        person.notes = notes
    person.full_clean()
    person.save()
    return person


def files_delete_on_commit(names: Iterable[str]) -> None:
    """Remove stored files once the rows that pointed at them are gone for good."""
    names = [name for name in names if name]

    def remove() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(remove)


@transaction.atomic
def person_delete(*, person: Person) -> None:
    """Delete a person with their photos (rows and files) and embeddings.

    This does not retrain: ``recognition.services.gallery.person_remove`` is the
    workflow every delivery path calls (delete, then queue a retrain without them).
    """
    files_delete_on_commit(person.faces.values_list("image", flat=True))
    person.delete()


@transaction.atomic
def face_image_delete(*, face_image: FaceImage) -> None:
    """Delete one photo (row, file and embedding)."""
    files_delete_on_commit([face_image.image.name or ""])
    face_image.delete()
