"""manage.py train / identify / evaluate with --json."""

from __future__ import annotations

import json
import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from recognition.models import Identification, ReviewFace, TrainedModel
from tests.recognition_support import GALLERY, STRANGER, cached_training, gallery

__all__ = ["cached_training", "gallery"]


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue().strip().splitlines()


@pytest.mark.django_db
def test_train_identify_evaluate_json(gallery, cached_training, dev_photos, tmp_path):
    metrics = json.loads(run("train", "--json")[-1])
    model = TrainedModel.objects.get(is_active=True)
    assert metrics == model.metrics and "calibration" in metrics

    known = dev_photos("Jennifer_Lopez")[6]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not a jpeg")
    lines = [json.loads(line) for line in run("identify", str(known), str(broken), "--json")]
    assert lines[0]["image"] == str(known)
    [face] = lines[0]["faces"]
    assert face["person"] == "Jennifer Lopez" and face["person_id"] == gallery["Jennifer_Lopez"].pk
    assert len(face["box"]) == 4 and 0 < face["confidence"] <= 1 and face["distance"] > 0
    assert lines[1]["image"] == str(broken) and lines[1]["faces"] == []
    assert "could not be decoded" in lines[1]["error"] or "not an image" in lines[1]["error"]
    assert Identification.objects.filter(channel="cli").count() == 1

    probes = tmp_path / "probes"
    for name in GALLERY:
        (probes / name).mkdir(parents=True)
        for photo in dev_photos(name)[5:7]:
            shutil.copy(photo, probes / name)
    (probes / "_unknown").mkdir()
    for photo in dev_photos(STRANGER)[:3]:
        shutil.copy(photo, probes / "_unknown")
    history = Identification.objects.count()
    kept = ReviewFace.objects.count()
    report = json.loads(run("evaluate", str(probes), "--json")[-1])
    assert report["known_faces"] == 10 and report["strangers"] == 3
    assert report["named_correctly"] == 1.0 and report["named_wrongly"] == 0.0
    assert report["strangers_rejected"] == 1.0
    assert report["misses"] == []
    # Measuring the model is not an identification anyone asked for: no history rows,
    # and no probe face kept for the unknown-faces inbox.
    assert Identification.objects.count() == history
    assert ReviewFace.objects.count() == kept

    # Mislabelled probes: a Kim photo filed under Tom, a known face among the strangers.
    kim, lopez = dev_photos("Kim_Clijsters")[6], dev_photos("Jennifer_Lopez")[7]
    shutil.copy(kim, probes / "Tom_Cruise" / "not_tom.jpg")
    shutil.copy(lopez, probes / "_unknown" / "not_a_stranger.jpg")
    lines = run("evaluate", str(probes), "--json")
    report = json.loads(lines[-1])
    misses = sorted(report["misses"], key=lambda miss: miss["file"])
    assert [(m["file"], m["outcome"], m["expected"], m["answer"]) for m in misses] == [
        ("Tom_Cruise/not_tom.jpg", "wrong", "Tom Cruise", "Kim Clijsters"),
        ("_unknown/not_a_stranger.jpg", "accepted", None, "Jennifer Lopez"),
    ]
    assert all(0 < miss["distance"] < 1 and 0 < miss["confidence"] <= 1 for miss in misses)
    assert "miss: Tom_Cruise/not_tom.jpg: expected Tom Cruise, answered Kim Clijsters" in lines[0]
    assert Identification.objects.count() == history
    assert ReviewFace.objects.count() == kept


@pytest.mark.django_db
def test_train_with_too_few_people_fails_clearly(dev_photos):
    with pytest.raises(CommandError, match="at least two people"):
        run("train", "--json")
    # Refused before a job exists: nothing lingers in the model history.
    assert not TrainedModel.objects.exists()


@pytest.mark.django_db
def test_identify_without_a_model_fails_clearly(dev_photos):
    with pytest.raises(CommandError, match="no model has been trained yet"):
        run("identify", str(dev_photos("Tom_Cruise")[0]), "--json")
