"""Open-set accuracy on ../shared/faces/dev, through the real services, for both engines.

Enroll the first 5 photos (sorted by name) of the first 15 people (sorted by name), probe
with their other photos, and use the 5 people left out as strangers. For each engine
(FACE_ENGINE opencv, then dlib; the same split): this system (enroll -> model_train ->
face_identify) and, over the same enrolled embeddings, a 1-NN baseline (face_recognition's
rule: nearest enrolled photo within a tolerance; 0.6 and 0.5 for dlib, the SFace
equal-error distance 1.136 and a stricter 1.0 for opencv). The subject face is judged.

    .venv/bin/python bench/accuracy.py [--engines opencv,dlib]
"""

from __future__ import annotations

import argparse
import shutil
import time

from _setup import FACES, setup_django

work = setup_django()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

from people.models import Person  # noqa: E402
from people.services import person_create  # noqa: E402
from recognition.analysis import Limits, analyze_all_faces  # noqa: E402
from recognition.evaluation import Judged, evaluation_report, result_subject  # noqa: E402
from recognition.ml.faces import Box  # noqa: E402
from recognition.models import TrainedModel  # noqa: E402
from recognition.rejections import PhotoRejected  # noqa: E402
from recognition.services.enroll import face_image_enroll  # noqa: E402
from recognition.services.identify import face_identify  # noqa: E402
from recognition.services.train import model_train, model_train_request  # noqa: E402

ENROLL, KNOWN_PEOPLE = 5, 15
TARGETS = {
    "opencv": {"correct": 0.99, "wrong": 0.0, "rejected": 0.99},
    "dlib": {"correct": 0.97, "wrong": 0.005, "rejected": 0.95},
}
TOLERANCES = {"opencv": (1.136, 1.0), "dlib": (0.6, 0.5)}


def run(engine: str) -> dict[str, list[Judged]]:
    settings.FACE_ENGINE = engine
    Person.objects.all().delete()
    TrainedModel.objects.all().delete()
    people = sorted(p for p in (FACES / "dev").iterdir() if p.is_dir())
    known, strangers = people[:KNOWN_PEOPLE], people[KNOWN_PEOPLE:]
    gallery: list[tuple[int, np.ndarray]] = []
    probes: list[tuple[int | None, bytes, str]] = []
    started = time.monotonic()
    for folder in known:
        person = person_create(name=folder.name.replace("_", " "))
        photos = sorted(folder.glob("*.jpg"))
        for photo in photos[:ENROLL]:
            try:
                face = face_image_enroll(person=person, source=photo.read_bytes(), name=photo.name)
            except PhotoRejected as exc:  # as enroll_folder would: reported, not enrolled
                print(f"  not enrolled: {exc}")
                continue
            gallery.append((person.pk, face.embedding.vector()))
        probes += [(person.pk, p.read_bytes(), p.name) for p in photos[ENROLL:]]
    for folder in strangers:
        probes += [(None, p.read_bytes(), p.name) for p in sorted(folder.glob("*.jpg"))]
    print(
        f"[{engine}] enrolled {len(gallery)} photos of {len(known)} people in "
        f"{time.monotonic() - started:.0f} s; {len(probes)} probes"
    )
    model = model_train(model_id=model_train_request(enqueue=False).pk)
    print(
        f"[{engine}] trained model #{model.pk} in {model.metrics['train_seconds']:.1f} s, "
        f"calibration {model.metrics['calibration']}"
    )
    ids = np.array([pid for pid, _ in gallery])
    vectors = np.stack([v for _, v in gallery])
    loose, strict = TOLERANCES[engine]
    rows: dict[str, list[Judged]] = {
        f"1-NN tol {loose}": [],
        f"1-NN tol {strict}": [],
        "this system": [],
    }
    for truth, data, name in probes:
        result = face_identify(source=data, name=name, channel="bench")
        subject = result_subject(result)
        if subject is None:
            print(f"  no face found in {name}")
            continue
        embedding = _embedding_of(data, name, subject.box)
        distances = np.linalg.norm(vectors - embedding, axis=1)
        nearest = int(distances.argmin())
        for tol in (loose, strict):
            said = int(ids[nearest]) if distances[nearest] <= tol else None
            rows[f"1-NN tol {tol}"].append((truth, said))
        rows["this system"].append((truth, subject.person_id))
    return rows


def _embedding_of(data: bytes, name: str, box: Box) -> np.ndarray:
    """The probe's embedding (same detection and encoder as the service)."""
    _image, found = analyze_all_faces(data, name=name, limits=Limits.from_settings())
    return next(f.embedding for f in found if f.box == box)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="opencv,dlib")
    args = parser.parse_args()
    results: dict[str, dict[str, list[Judged]]] = {}
    for engine in args.engines.split(","):
        results[engine] = run(engine)
    print(
        f"\n{'':22} {'known named right':>18} {'named wrongly':>14} {'called unknown':>15} "
        f"{'strangers rejected':>19}"
    )
    for engine, rows in results.items():
        for label, judged in rows.items():
            s = evaluation_report(judged)
            print(
                f"{engine + ' ' + label:22} {s['named_correctly']:>18.1%} "
                f"{s['named_wrongly']:>14.1%} {s['called_unknown']:>15.1%} "
                f"{s['strangers_rejected']:>19.1%}"
            )
    for engine, rows in results.items():
        s, target = evaluation_report(rows["this system"]), TARGETS[engine]
        met = (
            s["named_correctly"] >= target["correct"]
            and s["named_wrongly"] <= target["wrong"]
            and s["strangers_rejected"] >= target["rejected"]
        )
        print(
            f"{engine}: {s['known_faces']} known probes, {s['strangers']} stranger "
            f"probes; target >= {target['correct']:.0%} right, <= {target['wrong']:.1%} wrong, "
            f">= {target['rejected']:.0%} strangers rejected: {'MET' if met else 'NOT MET'}"
        )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
