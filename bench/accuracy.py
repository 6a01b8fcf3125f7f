"""Open-set accuracy on ../shared/faces/dev, through the real services, with defaults.

Enroll the first 5 photos (sorted by name) of the first 15 people (sorted by name), probe
with their other photos, and use the 5 people left out as strangers. Printed side by side:
face_recognition's 1-NN at tolerance 0.6 and 0.5 (same enrolled embeddings) and this
system (enroll -> model_train -> face_identify). The photo's subject face is judged.

    .venv/bin/python bench/accuracy.py
"""

from __future__ import annotations

import shutil
import time

from _setup import FACES, setup_django

work = setup_django()

import numpy as np  # noqa: E402

from people.services import person_create  # noqa: E402
from recognition.analysis import Limits, analyze_all_faces  # noqa: E402
from recognition.evaluation import Judged, evaluation_report, result_subject  # noqa: E402
from recognition.ml.faces import Box  # noqa: E402
from recognition.rejections import PhotoRejected  # noqa: E402
from recognition.services.enroll import face_image_enroll  # noqa: E402
from recognition.services.identify import face_identify  # noqa: E402
from recognition.services.train import model_train, model_train_request  # noqa: E402

ENROLL, KNOWN_PEOPLE = 5, 15
TARGET = {"correct": 0.97, "wrong": 0.005, "rejected": 0.95}


def main() -> None:
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
        f"enrolled {len(gallery)} photos of {len(known)} people in "
        f"{time.monotonic() - started:.0f} s; {len(probes)} probes"
    )
    model = model_train(model_id=model_train_request(enqueue=False).pk)
    print(
        f"trained model #{model.pk} in {model.metrics['train_seconds']:.1f} s, "
        f"calibration {model.metrics['calibration']}"
    )

    ids = np.array([pid for pid, _ in gallery])
    vectors = np.stack([v for _, v in gallery])
    rows: dict[str, list[Judged]] = {"1-NN tol 0.6": [], "1-NN tol 0.5": [], "this system": []}
    for truth, data, name in probes:
        result = face_identify(source=data, name=name, channel="bench")
        subject = result_subject(result)
        if subject is None:
            print(f"  no face found in {name}")
            continue
        embedding = _embedding_of(data, name, subject.box)
        distances = np.linalg.norm(vectors - embedding, axis=1)
        nearest = int(distances.argmin())
        for tol in (0.6, 0.5):
            said = int(ids[nearest]) if distances[nearest] <= tol else None
            rows[f"1-NN tol {tol}"].append((truth, said))
        rows["this system"].append((truth, subject.person_id))
    print()
    print(
        f"{'':14} {'known named right':>18} {'named wrongly':>14} {'called unknown':>15} "
        f"{'strangers rejected':>19}"
    )
    for label, judged in rows.items():
        s = evaluation_report(judged)
        print(
            f"{label:14} {s['named_correctly']:>18.1%} {s['named_wrongly']:>14.1%} "
            f"{s['called_unknown']:>15.1%} {s['strangers_rejected']:>19.1%}"
        )
    s = evaluation_report(rows["this system"])
    met = (
        s["named_correctly"] >= TARGET["correct"]
        and s["named_wrongly"] <= TARGET["wrong"]
        and s["strangers_rejected"] >= TARGET["rejected"]
    )
    print(
        f"\n{s['known_faces']} known probes, {s['strangers']} stranger probes; "
        f"target >= 97% right, <= 0.5% wrong, >= 95% strangers rejected: "
        f"{'MET' if met else 'NOT MET'}"
    )
    shutil.rmtree(work, ignore_errors=True)


_cache: dict[str, np.ndarray] = {}


def _embedding_of(data: bytes, name: str, box: Box) -> np.ndarray:
    """The probe's embedding (same detection and encoder as the service)."""
    _image, found = analyze_all_faces(data, name=name, limits=Limits.from_settings())
    return next(f.embedding for f in found if f.box == box)


if __name__ == "__main__":
    main()
