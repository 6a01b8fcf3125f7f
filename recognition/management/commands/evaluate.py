"""python manage.py evaluate DIR [--json]: how well the active model names held-out photos.

DIR holds one folder per enrolled person ("Barack_Obama/" is "Barack Obama"), with photos
not used in training, and optionally ``_unknown/`` with photos of strangers. The subject
of each photo (the most prominent face, as in enrollment) is the one judged.

Its probes are not identifications anyone asked for: they leave no row in the history.
Every miss (a known face named wrongly or called unknown, a stranger named) is listed,
and with ``--json`` the last line carries them under ``misses``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from people.models import Person
from recognition.evaluation import (
    MISSES,
    Judged,
    evaluation_outcome,
    evaluation_report,
    result_subject,
)
from recognition.images import PHOTO_SUFFIXES
from recognition.rejections import PhotoRejected
from recognition.services.identify import FaceAnswer, NoActiveModel, face_identify

UNKNOWN_FOLDER = "_unknown"


class Command(BaseCommand):
    help = "Share of known faces named correctly/wrongly/unknown and of strangers rejected."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--json", action="store_true", help="end with one JSON line")

    def handle(self, *args: Any, **options: Any) -> None:
        root: Path = options["directory"]
        if not root.is_dir():
            raise CommandError(f"No such folder: {root}")
        judged: list[Judged] = []
        skipped: list[str] = []
        misses: list[dict[str, Any]] = []
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            stranger = folder.name == UNKNOWN_FOLDER
            person_id = None if stranger else _person_id(folder.name)
            expected = None if person_id is None else Person.objects.get(pk=person_id).name
            if not stranger and person_id is None:
                skipped.append(f"{folder.name}/: no enrolled person of that name")
                continue
            for photo in sorted(folder.iterdir()):
                if photo.suffix.lower() not in PHOTO_SUFFIXES:
                    continue
                face = self.subject(photo, skipped)
                if face is None:
                    continue
                judged.append((person_id, face.person_id))
                outcome = evaluation_outcome(person_id, face.person_id)
                if outcome in MISSES:
                    misses.append(_miss(photo.relative_to(root), outcome, expected, face))
        for line in skipped:
            self.stderr.write(f"skipped {line}")
        report = evaluation_report(judged, skipped=len(skipped))
        report["misses"] = misses
        for miss in misses:
            self.stdout.write(_human_miss(miss))
        self.stdout.write(_human(report))
        if options["json"]:
            self.stdout.write(json.dumps(report))

    def subject(self, photo: Path, skipped: list[str]) -> FaceAnswer | None:
        try:
            result = face_identify(
                source=photo.read_bytes(), name=photo.name, channel="evaluate", audit=False
            )
        except NoActiveModel as exc:
            raise CommandError(f"{exc}. Run `manage.py train` first.") from exc
        except (PhotoRejected, OSError) as exc:
            skipped.append(f"{photo}: {exc}")
            return None
        face = result_subject(result)
        if face is None:
            skipped.append(f"{photo}: no face found")
        return face


def _person_id(folder_name: str) -> int | None:
    for candidate in (folder_name.replace("_", " ").strip(), folder_name):
        found = list(Person.objects.filter(name__iexact=candidate).values_list("pk", flat=True))
        if len(found) == 1:
            return found[0]
    return None


def _miss(path: Path, outcome: str, expected: str | None, face: FaceAnswer) -> dict[str, Any]:
    """One probe the model got wrong: which file, what was expected, what it answered."""
    return {
        "file": str(path),
        "outcome": outcome,  # wrong | unknown (a known face) | accepted (a stranger named)
        "expected": expected,  # None: a stranger
        "answer": face.name,  # None: unknown
        "distance": face.distance,
        "confidence": face.confidence,
    }


def _human_miss(miss: dict[str, Any]) -> str:
    expected = miss["expected"] or "unknown (a stranger)"
    answer = miss["answer"] or "unknown"
    return (
        f"miss: {miss['file']}: expected {expected}, answered {answer} "
        f"(distance {miss['distance']:.3f})"
    )


def _human(report: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    return (
        f"known faces: {report['known_faces']}, named correctly {pct(report['named_correctly'])}, "
        f"named wrongly {pct(report['named_wrongly'])}, "
        f"called unknown {pct(report['called_unknown'])}; "
        f"strangers: {report['strangers']}, rejected {pct(report['strangers_rejected'])}; "
        f"skipped {report['skipped']}"
    )
