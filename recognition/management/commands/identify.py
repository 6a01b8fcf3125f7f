"""python manage.py identify IMAGE... [--json]: who is in each photo.

Exits 0 when it ran through, even if a photo was unreadable (that photo's line says why);
non-zero only when it could not run at all (no model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recognition.rejections import PhotoRejected
from recognition.services.identify import NoActiveModel, face_identify


class Command(BaseCommand):
    help = "Identify every face in the given photos with the active model."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("images", nargs="+", type=Path)
        parser.add_argument("--json", action="store_true", help="one JSON line per image")

    def handle(self, *args: Any, **options: Any) -> None:
        for path in options["images"]:
            line = self.identify(path)
            if options["json"]:
                self.stdout.write(json.dumps(line))
            else:
                self.stdout.write(_human(line))

    def identify(self, path: Path) -> dict[str, Any]:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return {"image": str(path), "faces": [], "error": f"cannot read {path}: {exc}"}
        try:
            result = face_identify(source=data, name=path.name, channel="cli")
        except NoActiveModel as exc:
            raise CommandError(f"{exc}. Run `manage.py train` first.") from exc
        except PhotoRejected as exc:
            return {"image": str(path), "faces": [], "error": exc.message, "code": exc.code}
        return {"image": str(path), "faces": [face.as_dict() for face in result.faces]}


def _human(line: dict[str, Any]) -> str:
    if "error" in line:
        return f"{line['image']}: {line['error']}"
    if not line["faces"]:
        return f"{line['image']}: no face found"
    return f"{line['image']}: " + "; ".join(_face_text(face) for face in line["faces"])


def _face_text(face: dict[str, Any]) -> str:
    """ "Tom Cruise (distance 0.41) at [...]" or "unknown (ambiguous; closest Tom Cruise 0.49,
    needs <= 0.48) at [...]"."""
    if face["person"]:
        return f"{face['person']} (distance {face['distance']:.3f}) at {face['box']}"
    why = face.get("reason") or "no_close_match"
    candidates = face.get("candidates") or []
    if candidates:
        closest = candidates[0]
        why += f"; closest {closest['person']} {closest['distance']:.3f}"
        why += f", needs <= {face['cutoff']:.3f}"
    return f"unknown ({why}) at {face['box']}"
