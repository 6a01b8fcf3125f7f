"""Speed: identification vs face_recognition's own detect + encode; training; classification.

.venv/bin/python bench/identify.py
"""

from __future__ import annotations

import statistics
import time

from _setup import FACES, setup_django

work = setup_django()

import numpy as np  # noqa: E402

from people.services import person_create  # noqa: E402
from recognition.ml import classifier as ml_classifier  # noqa: E402
from recognition.services.enroll import face_image_enroll  # noqa: E402
from recognition.services.identify import face_identify  # noqa: E402
from recognition.services.train import model_train, model_train_request  # noqa: E402

ROUNDS = 15


def median_seconds(action, rounds: int = ROUNDS) -> float:  # type: ignore[no-untyped-def]
    action()  # warm-up: lazy imports, caches
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    import face_recognition

    people = sorted(p for p in (FACES / "dev").iterdir() if p.is_dir())[:4]
    for folder in people:
        person = person_create(name=folder.name)
        for photo in sorted(folder.glob("*.jpg"))[:5]:
            face_image_enroll(person=person, source=photo.read_bytes(), name=photo.name)
    model_train(model_id=model_train_request(enqueue=False).pk)

    probe = sorted((FACES / "dev" / "Tom_Cruise").glob("*.jpg"))[0]
    data = probe.read_bytes()

    def ours() -> None:
        assert len(face_identify(source=data, name=probe.name, channel="bench").faces) == 1

    def theirs() -> None:
        image = face_recognition.load_image_file(str(probe))
        boxes = face_recognition.face_locations(image)
        assert len(face_recognition.face_encodings(image, boxes)) == 1

    service, baseline = median_seconds(ours), median_seconds(theirs)
    print(f"identify one-face LFW photo ({probe.name}), median of {ROUNDS}:")
    print(f"  face_identify (decode, detect, encode, classify, audit row): {service * 1000:.1f} ms")
    print(
        f"  face_recognition load + face_locations + face_encodings:     {baseline * 1000:.1f} ms"
    )
    print(f"  ratio {service / baseline:.2f} (target <= 1.15)")

    rng = np.random.default_rng(0)
    for n_people in (20, 1000):
        centres = rng.normal(0, 1, (n_people, 128))
        centres *= 0.45 / np.linalg.norm(centres, axis=1, keepdims=True)
        x = np.repeat(centres, 10, axis=0) + rng.normal(0, 0.04, (n_people * 10, 128))
        y = np.repeat(np.arange(n_people), 10)
        started = time.perf_counter()
        result = ml_classifier.train(x.astype(np.float32), y, epochs=200, patience=20)
        seconds = time.perf_counter() - started
        print(
            f"training {n_people} people x 10 synthetic embeddings: {seconds:.1f} s "
            f"({result.epochs_run} epochs, val accuracy {result.val_accuracy:.1%})"
        )
        one = x[:1].astype(np.float32)
        per_face = median_seconds(lambda c=result.classifier, v=one: c.probabilities(v), 200)
        print(f"  classification per face (numpy forward pass): {per_face * 1e6:.0f} us")


if __name__ == "__main__":
    main()
