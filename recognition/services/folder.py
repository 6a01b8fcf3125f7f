"""Enroll a folder of photos, one sub-folder per person, using every CPU core.

Decoding, detection and encoding (the cost) run in a process pool through
``analysis.analyze_file``, which touches no database; the main process keeps the only
database connection and stores each accepted photo with ``face_images_enroll``.
Photos already enrolled for their person (same content hash) are skipped before they
are analysed, so a re-run adds nothing and costs little.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from accounts.users import User
from people.models import FaceImage, Person
from people.selectors import person_same_name
from people.services import person_create
from recognition.analysis import AnalysisOutcome, Limits, analysis_worker_init, analyze_file
from recognition.consistency import GalleryCheck, GalleryWarning
from recognition.images import PHOTO_SUFFIXES, content_hash
from recognition.ml import Progress
from recognition.rejections import REASON_CODES
from recognition.services.enroll import PhotoUpload, face_image_duplicate, face_images_enroll


@dataclass(frozen=True)
class FolderPhoto:
    person_name: str
    path: Path
    label: str  # "Person_Folder/file.jpg", for messages


@dataclass
class FolderReport:
    people: int = 0
    images: int = 0
    enrolled: int = 0
    people_created: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejections: list[tuple[str, str, str]] = field(default_factory=list)  # label, code, msg
    # Enrolled, but may not show their person: (label, warning).
    warnings: list[tuple[str, GalleryWarning]] = field(default_factory=list)
    # Folders whose name several people share (which one is meant?): name -> sentence.
    ambiguous: dict[str, str] = field(default_factory=dict)

    def reject(self, label: str, code: str, message: str) -> None:
        self.rejected[code] += 1
        self.rejections.append((label, code, message))

    def as_dict(self) -> dict[str, object]:
        return {
            "people": self.people,
            "images": self.images,
            "enrolled": self.enrolled,
            "rejected": {code: self.rejected.get(code, 0) for code in REASON_CODES},
            "warnings": [{"file": label, **warning.as_dict()} for label, warning in self.warnings],
            "ambiguous_people": sorted(self.ambiguous),
        }


def person_name_from_folder(folder: str) -> str:
    """ "Barack_Obama" -> "Barack Obama"."""
    return " ".join(folder.replace("_", " ").split())


def folder_scan(root: Path) -> list[FolderPhoto]:
    """Every photo in the person folders of ``root``, in a stable order."""
    photos = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        name = person_name_from_folder(folder.name)
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES:
                label = f"{folder.name}/{path.name}"
                photos.append(FolderPhoto(person_name=name, path=path, label=label))
    return photos


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def folder_enroll(
    *,
    root: Path,
    workers: int = 0,
    uploaded_by: User = None,
    progress: Progress | None = None,
) -> FolderReport:
    """Enroll every photo under ``root``; rejections are counted, not raised."""
    photos = folder_scan(root)
    report = FolderReport(people=len({p.person_name for p in photos}), images=len(photos))
    people = _people_by_folder({p.person_name for p in photos}, report)
    photos = [photo for photo in photos if photo.person_name not in report.ambiguous]
    pending = _skip_enrolled(photos, people, report)
    done = report.images - len(pending)
    if progress:
        progress(done, report.images)
    limits = Limits.from_settings()
    limits.face_engine()  # fail here, once (EngineUnavailable), not in every worker
    check = GalleryCheck()
    for photo, outcome in _analyze(pending, limits=limits, workers=workers or default_workers()):
        _store(photo, outcome, people, report, uploaded_by, check)
        done += 1
        if progress:
            progress(done, report.images)
    return report


def _people_by_folder(names: set[str], report: FolderReport) -> dict[str, Person]:
    """The one person each folder means (name ignoring case); folders whose name two
    people share are left out, saying so, rather than guessing."""
    people = {}
    for name in names:
        found = list(person_same_name(name=name))
        if len(found) == 1:
            people[name] = found[0]
        elif found:
            ids = ", ".join(f"#{person.pk}" for person in found)
            report.ambiguous[name] = (
                f"{len(found)} people are named {name} ({ids}): merge them, or rename one, "
                "then run again; their folder was skipped."
            )
    return people


def _skip_enrolled(
    photos: list[FolderPhoto], people: dict[str, Person], report: FolderReport
) -> list[FolderPhoto]:
    """Photos still to analyse; those already enrolled (or repeated) count as duplicates."""
    known = set(
        FaceImage.objects.filter(person__in=people.values()).values_list("person__name", "sha256")
    )
    pending = []
    for photo in photos:
        key = (photo.person_name, content_hash(photo.path.read_bytes()))
        if key in known:
            duplicate = face_image_duplicate(person_name=key[0], name=photo.label)
            report.reject(photo.label, duplicate.code, duplicate.message)
            continue
        known.add(key)
        pending.append(photo)
    return pending


def _store(
    photo: FolderPhoto,
    outcome: AnalysisOutcome,
    people: dict[str, Person],
    report: FolderReport,
    uploaded_by: User,
    check: GalleryCheck,
) -> None:
    if isinstance(outcome, tuple):
        report.reject(photo.label, *outcome)
        return
    person = people.get(photo.person_name)
    if person is None:
        person = people[photo.person_name] = person_create(
            name=photo.person_name, created_by=uploaded_by
        )
        report.people_created += 1
    upload = PhotoUpload(name=photo.path.name, content=outcome)
    (stored,) = face_images_enroll(
        person=person, uploads=[upload], uploaded_by=uploaded_by, check=check
    )
    if stored.rejection is not None:
        report.reject(photo.label, stored.rejection.code, stored.rejection.message)
    else:
        report.enrolled += 1
        if stored.warning is not None:
            report.warnings.append((photo.label, stored.warning))


def _analyze(
    photos: list[FolderPhoto], *, limits: Limits, workers: int
) -> Iterator[tuple[FolderPhoto, AnalysisOutcome]]:
    jobs = [(index, str(photo.path), photo.label, limits) for index, photo in enumerate(photos)]
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            index, outcome = analyze_file(job)
            yield photos[index], outcome
        return
    # forkserver, not fork: workers start from a clean process that never held a
    # database connection or an OpenCV/BLAS thread pool (a plain fork of a process
    # whose OpenCV pool had run deadlocks the child). The engine's library is imported
    # once in the server and shared by every worker it forks (dlib's models; for
    # opencv only the module: each worker loads the two networks, ~0.4 s).
    context = multiprocessing.get_context("forkserver")
    library = "face_recognition" if limits.engine == "dlib" else "cv2"
    context.set_forkserver_preload([library, "recognition.analysis"])
    with context.Pool(processes=min(workers, len(jobs)), initializer=analysis_worker_init) as pool:
        for index, outcome in pool.imap_unordered(analyze_file, jobs, chunksize=2):
            yield photos[index], outcome
