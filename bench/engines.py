"""Both face engines side by side on ../shared/faces, in one run (no Django, no database).

For each engine (``opencv``: YuNet + SFace, ``dlib``: face_recognition):
- separation of same-person and other-person pairs on dev/ (the subject face of every
  photo, Euclidean distance of the embeddings): equal error rate, and the share of
  same-person pairs accepted at 0.1% false accepts;
- faces found: the annotated PASCAL group photos (recall against the annotated count),
  noface/ (false positives), 128 synthetic small faces (~25 px wide in a 640x480
  frame) and 128 synthetic rotated faces (+-30 degrees);
- detect + embed cost per photo: an LFW photo, a 3 MP photo, a group photo.

    .venv/bin/python bench/engines.py [--engines opencv,dlib] [--rounds 7]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FACES = Path(os.environ.get("FACES_DIR", ROOT.parent / "shared" / "faces")).resolve()

from recognition.ml.engine import Detection, FaceEngine, get_engine  # noqa: E402
from recognition.ml.subject import choose_subject  # noqa: E402

LARGE = "dev_hires/Barack_Obama/Barack_Obama__fr_obama3.jpg"
SMALL = "dev/Tom_Cruise/Tom_Cruise_0001.jpg"
GROUP = "group/dlib_2008_002470.jpg"
SYNTHETIC = 128
TARGET_FOUND = 0.95


def rgb_of(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def subject(faces: list[Detection], rgb: np.ndarray) -> Detection | None:
    if not faces:
        return None
    height, width = rgb.shape[:2]
    boxes = [f.box for f in faces]
    return faces[choose_subject(boxes, width=width, height=height, ratio=1.0).subject]


def separation(engine: FaceEngine) -> dict[str, float]:
    vectors, labels, missed = [], [], 0
    for path in sorted((FACES / "dev").glob("*/*.jpg")):
        rgb = rgb_of(path)
        face = subject(engine.detect(rgb), rgb)
        if face is None:
            missed += 1
            continue
        vectors.append(engine.embed(rgb, [face])[0])
        labels.append(path.parent.name)
    x = np.asarray(vectors, dtype=np.float64)
    y = np.asarray(labels)
    distances = np.linalg.norm(x[:, None] - x[None], axis=2)
    upper = np.triu_indices(len(x), 1)
    same = y[:, None] == y[None]
    genuine, impostor = distances[upper][same[upper]], distances[upper][~same[upper]]
    cuts = np.unique(np.concatenate([genuine, impostor]))
    far = np.searchsorted(np.sort(impostor), cuts, side="right") / len(impostor)
    frr = 1 - np.searchsorted(np.sort(genuine), cuts, side="right") / len(genuine)
    at = int(np.argmin(np.abs(far - frr)))
    allowed = np.sort(impostor)[int(0.001 * len(impostor))]  # 0.1% of impostors at or under
    return {
        "photos": len(x),
        "missed": missed,
        "genuine": len(genuine),
        "impostor": len(impostor),
        "eer": float((far[at] + frr[at]) / 2),
        "eer_distance": float(cuts[at]),
        "tar_at_far_0.1%": float((genuine < allowed).mean()),
    }


def group_recall(engine: FaceEngine) -> tuple[int, int, list[str]]:
    found = annotated = 0
    notes = []
    with (FACES / "manifests" / "group.csv").open() as handle:
        for row in csv.DictReader(handle):
            if not row["file"].startswith("group/dlib_2") or "annotated" not in row["note"]:
                continue
            expected = int(row["note"].split(";")[1].split()[0])
            got = len(engine.detect(rgb_of(FACES / row["file"])))
            found += min(got, expected)
            annotated += expected
            if got != expected:
                notes.append(f"{Path(row['file']).name} {got}/{expected}")
    return found, annotated, notes


def false_positives(engine: FaceEngine) -> tuple[int, list[str]]:
    notes = []
    total = 0
    for path in sorted((FACES / "noface").glob("*.jpg")):
        faces = engine.detect(rgb_of(path))
        total += len(faces)
        notes += [f"{path.name} (score {f.score:.2f})" for f in faces]
    return total, notes


def _faces_for_synthetics() -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
    """dev/ photos with their labelled face box (top, right, bottom, left), from the manifest."""
    rows = []
    with (FACES / "manifests" / "dev.csv").open() as handle:
        for row in csv.DictReader(handle):
            box = row["labeled_face_box_top_right_bottom_left"]
            if box:
                top, right, bottom, left = (int(v) for v in box.split(","))
                rows.append((FACES / row["file"], (top, right, bottom, left)))
    picked = rows[:: max(1, len(rows) // SYNTHETIC)][:SYNTHETIC]
    return [(rgb_of(path), box) for path, box in picked]


def _hit(faces: list[Detection], centre: tuple[float, float], size: float) -> bool:
    cx, cy = centre
    for face in faces:
        top, right, bottom, left = face.box
        if abs((left + right) / 2 - cx) <= size * 0.6 and abs((top + bottom) / 2 - cy) <= size:
            return True
    return False


def small_faces(sources: list[tuple[np.ndarray, tuple[int, int, int, int]]]) -> list[tuple]:
    """Each photo shrunk so its face is ~25 px wide, pasted into a 640x480 street-grey frame."""
    rng = np.random.default_rng(25)
    cases = []
    for rgb, (top, right, bottom, left) in sources:
        scale = 25 / (right - left)
        photo = Image.fromarray(rgb)
        small = photo.resize(
            (max(1, round(photo.width * scale)), max(1, round(photo.height * scale))),
            Image.Resampling.LANCZOS,
        )
        frame = np.full((480, 640, 3), 0, np.uint8)
        frame[:] = rng.integers(90, 160, size=3, dtype=np.uint8)
        x = int(rng.integers(0, 640 - small.width))
        y = int(rng.integers(0, 480 - small.height))
        frame[y : y + small.height, x : x + small.width] = np.asarray(small)
        centre = (x + (left + right) / 2 * scale, y + (top + bottom) / 2 * scale)
        cases.append((frame, centre, 25.0))
    return cases


def rotated_faces(sources: list[tuple[np.ndarray, tuple[int, int, int, int]]]) -> list[tuple]:
    """Each photo rotated by +30 or -30 degrees (alternately) about the face centre."""
    cases = []
    for i, (rgb, (top, right, bottom, left)) in enumerate(sources):
        angle = 30 if i % 2 == 0 else -30
        centre = ((left + right) / 2, (top + bottom) / 2)
        turned = Image.fromarray(rgb).rotate(
            angle, resample=Image.Resampling.BICUBIC, center=centre, fillcolor=(128, 128, 128)
        )
        cases.append((np.asarray(turned), centre, float(right - left)))
    return cases


def found_share(engine: FaceEngine, cases: list[tuple]) -> int:
    return sum(_hit(engine.detect(frame), centre, size) for frame, centre, size in cases)


def cost_ms(engine: FaceEngine, path: Path, rounds: int) -> tuple[float, int]:
    rgb = rgb_of(path)

    def run() -> int:
        faces = engine.detect(rgb)
        engine.embed(rgb, faces)
        return len(faces)

    count = run()  # warm-up: lazy imports, network loading
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="opencv,dlib")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--skip-separation", action="store_true")
    args = parser.parse_args()
    names = args.engines.split(",")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    sources = _faces_for_synthetics()
    small, turned = small_faces(sources), rotated_faces(sources)
    results: dict[str, dict[str, object]] = {}
    for name in names:
        engine = get_engine(name)
        print(f"\n== {name} ({engine.version})")
        costs = {}
        for label, rel in (("LFW 150 px", SMALL), ("3 MP photo", LARGE), ("group photo", GROUP)):
            ms, count = cost_ms(engine, FACES / rel, args.rounds)
            costs[label] = ms
            print(
                f"detect + embed, {label} ({count} faces): {ms:7.1f} ms (median of {args.rounds})"
            )
        got, annotated, notes = group_recall(engine)
        print(f"annotated group photos: {got}/{annotated} faces found ({', '.join(notes) or '-'})")
        fp, fp_notes = false_positives(engine)
        print(f"noface/: {fp} false positives {fp_notes or ''}")
        n_small, n_turned = found_share(engine, small), found_share(engine, turned)
        print(f"synthetic ~25 px faces in 640x480: {n_small}/{len(small)} found")
        print(f"synthetic faces rotated +-30 deg: {n_turned}/{len(turned)} found")
        sep = {} if args.skip_separation else separation(engine)
        if sep:
            print(
                f"dev/ pairs ({sep['photos']} photos, {sep['missed']} without a face; "
                f"{sep['genuine']} same-person / {sep['impostor']} other-person): "
                f"equal error rate {sep['eer']:.2%} at distance {sep['eer_distance']:.3f}, "
                f"accepted at 0.1% false accepts {sep['tar_at_far_0.1%']:.1%}"
            )
        results[name] = {"costs": costs, "small": n_small, "turned": n_turned, **sep}
    if "opencv" in results and "dlib" in results:
        ours, base = results["opencv"], results["dlib"]
        print("\nopencv / dlib cost ratio:")
        for label, ms in ours["costs"].items():  # type: ignore[union-attr]
            print(f"  {label}: {ms / base['costs'][label]:.2f}x")  # type: ignore[index]
    for name, result in results.items():
        share_small = int(result["small"]) / len(small)  # type: ignore[call-overload]
        share_turned = int(result["turned"]) / len(turned)  # type: ignore[call-overload]
        met = share_small >= TARGET_FOUND and share_turned >= TARGET_FOUND
        print(
            f"{name}: small {share_small:.1%}, rotated {share_turned:.1%} found "
            f"(target >= 95% each: {'MET' if met else 'NOT MET'})"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
