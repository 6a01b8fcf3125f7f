"""Speed: identification per engine vs face_recognition's own detect + encode; training.

For an LFW photo (150x150) and a 3 MP photo: ``face_identify`` (decode, detect, embed,
classify, audit row) with each engine's trained model, against face_recognition's
``load_image_file`` + ``face_locations`` + ``face_encodings`` on the same file (the
library's defaults, what a face_recognition user runs), all in one run.

    .venv/bin/python bench/identify.py [--engines opencv,dlib] [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from _setup import FACES, setup_django

work = setup_django()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

from people.models import Person  # noqa: E402
from people.services import person_create  # noqa: E402
from recognition.ml import classifier as ml_classifier  # noqa: E402
from recognition.models import TrainedModel  # noqa: E402
from recognition.services.activation import model_activate  # noqa: E402
from recognition.services.enroll import face_image_enroll  # noqa: E402
from recognition.services.identify import face_identify  # noqa: E402
from recognition.services.reembed import reembed_request, reembed_run  # noqa: E402
from recognition.services.train import model_train, model_train_request  # noqa: E402

PHOTOS = {
    "LFW photo (150x150)": "dev/Tom_Cruise/Tom_Cruise_0001.jpg",
    "3 MP photo (1434x2333)": "dev_hires/Barack_Obama/Barack_Obama__fr_obama3.jpg",
}
TARGET = 0.3  # the default engine's identify cost / face_recognition's detect + encode


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    action()  # warm-up: lazy imports, caches, the model file after an activation
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def median_seconds(action: Callable[[], object], rounds: int) -> float:
    return statistics.median(timed(action, rounds))


def train_gallery(engine: str) -> TrainedModel:
    """A model of ``engine`` on four dev/ people (enrolled once, then re-embedded)."""
    settings.FACE_ENGINE = engine
    if not Person.objects.exists():
        for folder in sorted(p for p in (FACES / "dev").iterdir() if p.is_dir())[:4]:
            person = person_create(name=folder.name)
            for photo in sorted(folder.glob("*.jpg"))[:5]:
                face_image_enroll(person=person, source=photo.read_bytes(), name=photo.name)
    else:
        reembed_run(job_id=reembed_request(enqueue=False).pk, train=False)
    return model_train(model_id=model_train_request(enqueue=False).pk)


def ours(path: Path) -> Callable[[], object]:
    data = path.read_bytes()

    def identify() -> None:
        assert len(face_identify(source=data, name=path.name, channel="bench").faces) >= 1

    return identify


def theirs(path: Path) -> Callable[[], object]:
    import face_recognition

    def detect_and_encode() -> None:
        image = face_recognition.load_image_file(str(path))
        boxes = face_recognition.face_locations(image)
        assert len(face_recognition.face_encodings(image, boxes)) >= 1

    return detect_and_encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="opencv,dlib")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--skip-training", action="store_true", help="skip the training figures")
    args = parser.parse_args()
    engines = args.engines.split(",")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    # One model per engine on the same people (re-embedded between trainings), each
    # activated in turn.
    models = {engine: train_gallery(engine) for engine in engines}
    variants = ["face_recognition", *engines]
    samples: dict[str, dict[str, list[float]]] = {
        label: {v: [] for v in variants} for label in PHOTOS
    }
    # Interleaved blocks, the order reversed every other block: the load on a shared
    # machine drifts, and sequential runs would hand the drift to whichever ran last.
    blocks = 3
    per_block = max(1, args.rounds // blocks)
    for block in range(blocks):
        order = variants if block % 2 == 0 else variants[::-1]
        for variant in order:
            if variant != "face_recognition":
                model_activate(model=models[variant])
            for label, rel in PHOTOS.items():
                action = theirs(FACES / rel) if variant == "face_recognition" else ours(FACES / rel)
                samples[label][variant] += timed(action, per_block)
    costs = {
        label: {v: statistics.median(times) for v, times in per.items()}
        for label, per in samples.items()
    }
    print(f"identify one face, median of {blocks * per_block} runs in {blocks} interleaved blocks:")
    for label in PHOTOS:
        base = costs[label]["face_recognition"]
        print(f"  {label}:")
        print(f"    face_recognition load + face_locations + face_encodings: {base * 1000:8.1f} ms")
        for engine in engines:
            ms = costs[label][engine] * 1000
            ratio = costs[label][engine] / base
            print(f"    face_identify, FACE_ENGINE={engine:6}: {ms:8.1f} ms  ratio {ratio:.2f}")
    default = engines[0]
    met = all(
        costs[label][default] / costs[label]["face_recognition"] <= TARGET for label in PHOTOS
    )
    print(f"{default} ratio target <= {TARGET} on both photos: {'MET' if met else 'NOT MET'}")
    print(f"load average {os.getloadavg()[0]:.1f} after identification")
    if not args.skip_training:
        training_figures()


def training_figures() -> None:
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
