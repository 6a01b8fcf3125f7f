"""Gallery consistency: what judging photos costs, and how well it flags misfiled ones.

.venv/bin/python bench/consistency.py [dlib|opencv]

Speed on synthetic galleries (128-d vectors, 10 photos a person) up to 20,000 photos:
computing the gallery's limits, judging one new photo against per-person sums (what a
batch enrollment pays per photo), and the person page's check of a 10-photo person.
Quality on the real photos of ../shared/faces/dev (dlib embeddings): each photo judged
against the others, filed under its own person and under the next one.
"""

from __future__ import annotations

import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
from _setup import FACES, ROOT

sys.path.insert(0, str(ROOT))

from recognition.ml import consistency

ROUNDS = 5
ENGINE = sys.argv[1] if len(sys.argv) > 1 else "dlib"  # the figures in the README: dlib


def seconds(action) -> float:  # type: ignore[no-untyped-def]
    action()
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def synthetic(people: int, per_person: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(people, 128)) * 0.06
    labels = np.repeat(np.arange(people), per_person)
    return (centres[labels] + rng.normal(scale=0.02, size=(len(labels), 128))), labels


def person_page(x: np.ndarray, y: np.ndarray, limits: consistency.Limits | None) -> None:
    """What the person page does for a 10-photo person: each photo against the rest."""
    sums = np.zeros((int(y.max()) + 1, x.shape[1]))
    np.add.at(sums, y, x)
    counts = np.bincount(y)
    for member in range(10):
        own_sums, own_counts = sums.copy(), counts.copy()
        own_sums[0] -= x[member]
        own_counts[0] -= 1
        consistency.judge_sums(x[member], own_sums, own_counts, own=0, limits=limits)


def speed() -> None:
    print("gallery photos | limits (cached) | one photo of a batch | a person's page (10)")
    for people in (100, 500, 2000):
        x, y = synthetic(people)
        limits = consistency.gallery_limits(x, y)
        sums = np.zeros((people, 128))
        np.add.at(sums, y, x)
        counts = np.bincount(y)
        probe = x[0] + 0.01
        took_limits = seconds(partial(consistency.gallery_limits, x, y))
        took_one = seconds(
            partial(consistency.judge_sums, probe, sums, counts, own=1, limits=limits)
        )
        took_page = seconds(partial(person_page, x, y, limits))
        print(
            f"{len(y):>14} | {took_limits * 1000:12.1f} ms | {took_one * 1000:17.2f} ms"
            f" | {took_page * 1000:17.1f} ms"
        )


def dev_embeddings() -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    from recognition.ml import faces as ml_faces
    from recognition.ml.engine import get_engine
    from recognition.ml.subject import choose_subject

    engine = get_engine(ENGINE)

    vectors, labels = [], []
    for index, folder in enumerate(sorted(p for p in (FACES / "dev").iterdir() if p.is_dir())):
        for path in sorted(Path(folder).glob("*.jpg")):
            rgb = np.asarray(Image.open(path).convert("RGB"))
            found = ml_faces.find_faces(rgb, engine=engine, scan_side=1024)
            if not found:
                continue
            choice = choose_subject(
                [face.box for face in found], width=rgb.shape[1], height=rgb.shape[0], ratio=1.0
            )
            vectors.append(found[choice.subject].embedding)
            labels.append(index)
    return np.array(vectors), np.array(labels)


def quality() -> None:
    x, y = dev_embeddings()
    people = int(y.max()) + 1
    limits = consistency.gallery_limits(x, y)
    right = {None: 0, "unlike_person": 0, "looks_like": 0}
    misfiled = {"named the right person": 0, "unlike_person": 0, "missed": 0}
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        own = consistency.judge(x[i], x[keep], y[keep], own=int(y[i]), limits=limits)
        right[own.code] += 1
        wrong = consistency.judge(
            x[i], x[keep], y[keep], own=(int(y[i]) + 1) % people, limits=limits
        )
        if wrong.code == "looks_like" and wrong.other == y[i]:
            misfiled["named the right person"] += 1
        elif wrong.code is not None:
            misfiled["unlike_person"] += 1
        else:
            misfiled["missed"] += 1
    print(f"dev/ ({ENGINE}): {len(y)} photos of {people} people; limits {limits}")
    print(f"  filed under their own person: {right}")
    print(f"  filed under the next person:  {misfiled}")


if __name__ == "__main__":
    speed()
    quality()
