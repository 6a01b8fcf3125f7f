"""Open-set priors per engine: what the calibration rule measures on galleries of dev/.

For each engine, every dev/ photo's subject face is embedded once; then GALLERIES random
galleries are drawn (8-15 people known, 3-5 random photos of each enrolled; their other
photos are probes, every photo of the people left out is a stranger). For each gallery:
the threshold and ratio the gallery alone gives (``openset.measure``, no prior), and the
geometric rule's answers with the engine's priors (``openset.calibrate`` + ``decide``,
the CNN left out: every candidate gets probability 1). Prints the spread of the measured
values (the priors and bounds in recognition/ml/openset.py come from these) and the
rule's accuracy.

    .venv/bin/python bench/openset.py [--engines opencv,dlib] [--galleries 60]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FACES = Path(os.environ.get("FACES_DIR", ROOT.parent / "shared" / "faces")).resolve()

from recognition.ml import openset  # noqa: E402
from recognition.ml.engine import get_engine  # noqa: E402
from recognition.ml.subject import choose_subject  # noqa: E402


def embed_dev(name: str) -> tuple[np.ndarray, np.ndarray]:
    """float32 (n, 128) subject embeddings and their person labels (str (n,))."""
    engine = get_engine(name)
    vectors, labels = [], []
    for path in sorted((FACES / "dev").glob("*/*.jpg")):
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"))
        faces = engine.detect(rgb)
        if not faces:
            continue
        height, width = rgb.shape[:2]
        pick = choose_subject([f.box for f in faces], width=width, height=height, ratio=1.0)
        vectors.append(engine.embed(rgb, [faces[pick.subject]])[0])
        labels.append(path.parent.name)
    return np.asarray(vectors, dtype=np.float32), np.asarray(labels)


def one_gallery(
    x: np.ndarray, people: np.ndarray, rng: np.random.Generator, engine: str
) -> tuple[openset.Measured | None, dict[str, float]]:
    names = np.unique(people)
    known = rng.choice(names, size=int(rng.integers(8, 16)), replace=False)
    enrolled, probes, truth = [], [], []
    for label, name in enumerate(known):
        rows = rng.permutation(np.flatnonzero(people == name))
        take = int(rng.integers(3, 6))
        enrolled += [(i, label) for i in rows[:take]]
        probes += list(rows[take:])
        truth += [label] * len(rows[take:])
    strangers = np.flatnonzero(~np.isin(people, known))
    probes += list(strangers)
    truth += [None] * len(strangers)
    gallery = x[[i for i, _ in enrolled]]
    labels = np.array([label for _, label in enrolled])
    calibration = openset.calibrate(gallery, labels, engine=engine)
    centroids = np.stack([gallery[labels == k].mean(axis=0) for k in range(len(known))])
    probs = np.ones((len(probes), len(known)))
    decisions = openset.decide(probs, x[probes], centroids, calibration)
    said = [d.index for d in decisions]
    known_pairs = [(t, s) for t, s in zip(truth, said, strict=True) if t is not None]
    stranger_said = [s for t, s in zip(truth, said, strict=True) if t is None]
    scores = {
        "right": sum(t == s for t, s in known_pairs) / len(known_pairs),
        "wrong": sum(s is not None and s != t for t, s in known_pairs) / len(known_pairs),
        "rejected": sum(s is None for s in stranger_said) / len(stranger_said),
        "threshold": calibration.threshold,
        "ratio": calibration.ratio,
    }
    return openset.measure(gallery, labels, engine=engine), scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="opencv,dlib")
    parser.add_argument("--galleries", type=int, default=60)
    args = parser.parse_args()
    for name in args.engines.split(","):
        x, people = embed_dev(name)
        rng = np.random.default_rng(7)
        measured, scores = [], []
        for _ in range(args.galleries):
            m, s = one_gallery(x, people, rng, name)
            if m is not None:
                measured.append(m)
            scores.append(s)
        priors = openset.PRIORS[name]
        print(f"\n== {name}: {len(x)} dev/ faces, {args.galleries} galleries")
        for field in ("threshold", "ratio", "genuine_mean", "impostor_mean"):
            values = np.array([getattr(m, field) for m in measured])
            print(
                f"measured {field:14}: min {values.min():.3f}  median {np.median(values):.3f}"
                f"  max {values.max():.3f}"
            )
        print(
            f"priors: threshold {priors.threshold} in {priors.threshold_bounds}, "
            f"ratio {priors.ratio} in {priors.ratio_bounds}"
        )
        for field in ("threshold", "ratio"):
            values = np.array([s[field] for s in scores])
            print(f"calibrated {field:10}: min {values.min():.3f}  max {values.max():.3f}")
        for field, label in (
            ("right", "known named right"),
            ("wrong", "known named wrongly"),
            ("rejected", "strangers rejected"),
        ):
            values = np.array([s[field] for s in scores])
            print(
                f"{label:20}: min {values.min():6.1%}  mean {values.mean():6.1%}"
                f"  max {values.max():6.1%}"
            )


if __name__ == "__main__":
    main()
