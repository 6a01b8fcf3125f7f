"""manage.py enroll_folder: one folder per person, all cores, idempotent, --json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from people.models import FaceImage, Person
from people.services import person_create
from recognition.models import Embedding
from recognition.rejections import REASON_CODES
from recognition.services.folder import person_name_from_folder
from tests.conftest import ROOT, media_files

pytestmark = pytest.mark.django_db


def run(directory: Path, *args: str) -> tuple[dict[str, object], str, str]:
    out, err = StringIO(), StringIO()
    call_command("enroll_folder", str(directory), "--json", *args, stdout=out, stderr=err)
    last_line = out.getvalue().strip().splitlines()[-1]
    return json.loads(last_line), out.getvalue(), err.getvalue()


def test_dev_folder_enrolls_and_a_rerun_adds_nothing(faces_dir, media_root):
    report, out, err = run(faces_dir / "dev", "--workers", "2")
    assert report["people"] == 20 and report["images"] == 255
    assert isinstance(report["enrolled"], int) and report["enrolled"] >= 250
    rejected = report["rejected"]
    assert isinstance(rejected, dict) and set(rejected) == set(REASON_CODES)
    assert report["enrolled"] + sum(rejected.values()) == 255
    assert Person.objects.count() == 20
    assert Person.objects.filter(name="Luiz Inacio Lula da Silva").exists()
    assert FaceImage.objects.count() == Embedding.objects.count() == report["enrolled"]
    assert len(media_files(media_root)) == report["enrolled"]
    assert "255/255" in err and f"{report['enrolled']} enrolled" in out

    again, _, _ = run(faces_dir / "dev", "--workers", "2")
    assert again["enrolled"] == 0
    assert again["rejected"]["duplicate"] == report["enrolled"]  # type: ignore[index]
    assert Person.objects.count() == 20
    assert FaceImage.objects.count() == report["enrolled"]
    assert len(media_files(media_root)) == report["enrolled"]


@pytest.fixture
def small_folder(tmp_path, faces_dir) -> Path:
    root = tmp_path / "people"
    tom = root / "Tom_Cruise"
    tom.mkdir(parents=True)
    for path in sorted((faces_dir / "dev" / "Tom_Cruise").glob("*.jpg"))[:2]:
        shutil.copy(path, tom / path.name)
    shutil.copy(sorted((faces_dir / "noface").glob("*.jpg"))[0], tom / "landscape.jpg")
    (tom / "notes.jpg").write_text("not a photo")
    (tom / "README.txt").write_text("ignored: not a photo file name")
    group = root / "Barack_Obama"
    group.mkdir()
    shutil.copy(faces_dir / "group" / "fr_two_people.jpg", group / "two.jpg")
    return root


def test_small_folder_counts_every_reason_and_matches_people_by_name(small_folder, media_root):
    existing = person_create(name="Tom Cruise")
    shutil.copy(small_folder / "Barack_Obama" / "two.jpg", small_folder / "loose.jpg")
    report, out, err = run(small_folder, "--workers", "1")
    assert report == {
        "people": 2,
        "images": 5,
        "enrolled": 2,
        "rejected": {
            "unreadable_image": 1,
            "too_large": 0,
            "no_face": 1,
            "face_too_small": 0,
            "multiple_faces": 1,
            "duplicate": 0,
        },
        "warnings": [],
        "ambiguous_people": [],
    }
    assert list(Person.objects.all()) == [existing]  # nobody created for refused photos
    assert existing.faces.count() == 2
    assert "Barack_Obama/two.jpg (multiple_faces)" in err
    assert "Tom_Cruise/notes.jpg (unreadable_image)" in err
    assert "0 people created" in out
    assert "1 photos directly in" in err  # not in a person folder: skipped, and said so


def test_same_photo_twice_in_a_folder_is_enrolled_once(small_folder, media_root):
    tom = small_folder / "Tom_Cruise"
    first = sorted(tom.glob("Tom_Cruise_*.jpg"))[0]
    shutil.copy(first, tom / "copy_of_first.jpg")
    report, _, _ = run(small_folder, "--workers", "2")
    assert report["enrolled"] == 2
    assert report["rejected"]["duplicate"] == 1  # type: ignore[index]
    assert Person.objects.get().name == "Tom Cruise"
    assert len(media_files(media_root)) == 2


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="No such folder"):
        call_command("enroll_folder", str(tmp_path / "nope"))


def test_folder_names_become_person_names():
    assert person_name_from_folder("Barack_Obama") == "Barack Obama"
    assert person_name_from_folder("Jean-David_Levitte") == "Jean-David Levitte"
    assert person_name_from_folder("  odd__spacing_ ") == "odd spacing"


def test_without_a_database_it_exits_non_zero_with_a_message(tmp_path, small_folder):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "facerecog_site.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "enroll_folder", str(small_folder), "--skip-checks"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "migrate" in result.stderr
    assert media_files(tmp_path / "media") == []


def test_a_photo_filed_under_the_wrong_person_is_enrolled_with_a_warning(tmp_path, faces_dir):
    root = tmp_path / "people"
    dev = faces_dir / "dev"
    for name in ("Tom_Cruise", "Kim_Clijsters", "Gordon_Brown"):
        (root / name).mkdir(parents=True)
        for path in sorted((dev / name).glob("*.jpg"))[:4]:
            shutil.copy(path, root / name / path.name)
    # A Kim photo in Tom's folder, named to come after Tom's own photos.
    shutil.copy(sorted((dev / "Kim_Clijsters").glob("*.jpg"))[6], root / "Tom_Cruise" / "zz.jpg")
    report, out, err = run(root, "--workers", "1")
    assert report["enrolled"] == 13
    assert report["warnings"] == [
        {
            "file": "Tom_Cruise/zz.jpg",
            "code": "looks_like",
            "detail": report["warnings"][0]["detail"],  # type: ignore[index]
            "distance": report["warnings"][0]["distance"],  # type: ignore[index]
            "looks_like": {
                "id": Person.objects.get(name="Kim Clijsters").pk,
                "name": "Kim Clijsters",
                "distance": report["warnings"][0]["looks_like"]["distance"],  # type: ignore[index]
            },
        }
    ]
    assert "check Tom_Cruise/zz.jpg (looks_like): This face looks like Kim Clijsters" in err
    assert "1 to check (1 look like someone else, 0 unlike their person's other photos)" in out
    assert Person.objects.get(name="Tom Cruise").faces.count() == 5  # enrolled all the same


def test_a_folder_whose_name_two_people_share_is_skipped_not_guessed(small_folder, media_root):
    person_create(name="Tom Cruise")
    person_create(name="tom cruise", allow_duplicate_name=True)
    report, out, err = run(small_folder, "--workers", "1")
    assert report["ambiguous_people"] == ["Tom Cruise"]
    assert "skipped folder of Tom Cruise: 2 people are named Tom Cruise" in err
    assert "1 folders skipped (name shared by several people)" in out
    assert not FaceImage.objects.filter(person__name__iexact="tom cruise").exists()


def test_a_folder_matches_its_person_whatever_the_case(small_folder, media_root):
    existing = person_create(name="TOM CRUISE")
    report, _, _ = run(small_folder, "--workers", "1")
    assert report["enrolled"] == 2 and existing.faces.count() == 2
