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
from recognition.ml.subject import choose_subject  # noqa: E402
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
    probes: list[tuple[object, bytes, str]] = []
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
    rows = {"1-NN tol 0.6": [], "1-NN tol 0.5": [], "this system": []}
    for truth, data, name in probes:
        result = face_identify(source=data, name=name, channel="bench")
        if not result.faces:
            print(f"  no face found in {name}")
            continue
        boxes = [f.box for f in result.faces]
        subject = result.faces[
            choose_subject(boxes, width=result.width, height=result.height, ratio=1.0).subject
        ]
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
    for label, pairs in rows.items():
        s = _scores(pairs)
        print(
            f"{label:14} {s['correct']:>18.1%} {s['wrong']:>14.1%} {s['unknown']:>15.1%} "
            f"{s['rejected']:>19.1%}"
        )
    s = _scores(rows["this system"])
    met = (
        s["correct"] >= TARGET["correct"]
        and s["wrong"] <= TARGET["wrong"]
        and s["rejected"] >= TARGET["rejected"]
    )
    known_n = sum(1 for t, _ in rows["this system"] if t is not None)
    print(
        f"\n{known_n} known probes, {len(rows['this system']) - known_n} stranger probes; "
        f"target >= 97% right, <= 0.5% wrong, >= 95% strangers rejected: "
        f"{'MET' if met else 'NOT MET'}"
    )
    shutil.rmtree(work, ignore_errors=True)


_cache: dict[str, np.ndarray] = {}


def _embedding_of(data: bytes, name: str, box: tuple[int, int, int, int]) -> np.ndarray:
    """The probe's embedding (same detection and encoder as the service)."""
    from recognition.analysis import Limits, analyze_all_faces

    _image, found = analyze_all_faces(data, name=name, limits=Limits.from_settings())
    return next(f.embedding for f in found if f.box == box)


def _scores(pairs: list[tuple[object, object]]) -> dict[str, float]:
    known = [(t, s) for t, s in pairs if t is not None]
    strangers = [s for t, s in pairs if t is None]
    return {
        "correct": sum(t == s for t, s in known) / len(known),
        "wrong": sum(s is not None and t != s for t, s in known) / len(known),
        "unknown": sum(s is None for _, s in known) / len(known),
        "rejected": sum(s is None for s in strangers) / len(strangers),
    }


if __name__ == "__main__":
    main()
