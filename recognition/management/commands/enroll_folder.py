"""python manage.py enroll_folder DIR [--json] [--workers N]

DIR holds one folder per person ("Barack_Obama/" enrolls "Barack Obama"). Exits 0 when
it ran through, whatever it rejected; non-zero when it could not run at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import DatabaseError

from people.models import FaceImage
from recognition.images import PHOTO_SUFFIXES
from recognition.ml.engine import EngineUnavailable
from recognition.rejections import DUPLICATE
from recognition.services.folder import (
    FolderReport,
    default_workers,
    folder_enroll,
)


class ProgressBar:
    """A one-line progress bar on a stream (stderr), redrawn in place."""

    WIDTH = 30

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // total if total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\renrolling [{bar}] {done}/{total} photos", ending="")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n", ending="")
            self.stream.flush()


class Command(BaseCommand):
    help = "Enroll every photo in DIR, one sub-folder per person (Barack_Obama/ -> Barack Obama)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, help="folder holding one folder per person")
        parser.add_argument(
            "--json", action="store_true", help="end with one JSON line of counts on stdout"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.FACE_ENROLL_WORKERS,
            help="analysis processes (default: FACE_ENROLL_WORKERS, 0 = all cores)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        root: Path = options["directory"]
        if not root.is_dir():
            raise CommandError(f"No such folder: {root}")
        workers = options["workers"] if options["workers"] > 0 else default_workers()
        _check_database()
        loose = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES]
        if loose:
            self.stderr.write(
                f"{len(loose)} photos directly in {root} were skipped: put each person's "
                "photos in a folder named after them (Barack_Obama/...)."
            )
        bar = ProgressBar(self.stderr)
        try:
            report = folder_enroll(root=root, workers=workers, progress=bar)
        except EngineUnavailable as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        for name, message in sorted(report.ambiguous.items()):
            self.stderr.write(f"skipped folder of {name}: {message}")
        for label, code, message in report.rejections:
            if code != DUPLICATE:
                self.stderr.write(f"rejected {label} ({code}): {message}")
        for label, warning in report.warnings:
            self.stderr.write(f"check {label} ({warning.code}): {warning.detail}")
        self.stdout.write(_summary(report))
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))


def _check_database() -> None:
    try:
        FaceImage.objects.exists()
    except DatabaseError as exc:
        raise CommandError(
            f"The database cannot be used ({exc}). Is DATABASE_URL right, and did "
            "`python manage.py migrate` run?"
        ) from None


def _summary(report: FolderReport) -> str:
    already = report.rejected.get(DUPLICATE, 0)
    refused = {code: n for code, n in report.rejected.items() if code != DUPLICATE and n}
    line = (
        f"{report.images} photos of {report.people} people: {report.enrolled} enrolled, "
        f"{already} already enrolled, {sum(refused.values())} rejected"
    )
    if refused:
        line += " (" + ", ".join(f"{code} {n}" for code, n in sorted(refused.items())) + ")"
    line += f"; {report.people_created} people created"
    if report.warnings:
        looks_like = sum(w.code == "looks_like" for _, w in report.warnings)
        line += (
            f"; {len(report.warnings)} to check ({looks_like} look like someone else, "
            f"{len(report.warnings) - looks_like} unlike their person's other photos)"
        )
    if report.ambiguous:
        line += f"; {len(report.ambiguous)} folders skipped (name shared by several people)"
    return line + "."
