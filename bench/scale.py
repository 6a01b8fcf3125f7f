"""Scale: training at 1,000 and 10,000 people, the per-face decision at 10,000 people,
nearest-photo search at 100,000 and 1,000,000 embeddings. Synthetic clustered galleries.

    .venv/bin/python bench/scale.py [--train 1000,10000] [--baseline] [--search 100000,1000000]

Galleries: each person a random 128-d centre at distance 0.45 from the origin, each
embedding that centre plus N(0, 0.04) per dimension (about the spread of dlib
embeddings of one person in dev/). Pure ML core only (recognition/ml/): no database.
``--baseline`` also trains 1,000 people with the previous recipe (batch 128, fixed
learning rate, patience 20, dropout 0.3) in the same run, for the accuracy comparison.
Training uses every core; the decision and the searches run with one thread, as in a
web worker. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recognition.ml import classifier as ml_classifier
from recognition.ml import openset, search


def gallery(n_people: int, per_person: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (n_people, 128))
    centres *= 0.45 / np.linalg.norm(centres, axis=1, keepdims=True)
    x = np.repeat(centres, per_person, axis=0) + rng.normal(0, 0.04, (n_people * per_person, 128))
    return x.astype(np.float32), np.repeat(np.arange(n_people), per_person)


def median_ms(action, rounds: int) -> float:  # type: ignore[no-untyped-def]
    action()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def old_recipe(x: np.ndarray, y: np.ndarray) -> tuple[float, int, float]:
    """The recipe before this change: (val accuracy, epochs, seconds)."""
    import keras

    started = time.monotonic()
    keras.utils.set_random_seed(0)
    n_classes = int(y.max()) + 1
    train_idx, val_idx = ml_classifier.split_indices(y, val_share=0.2, seed=0)
    mean = x[train_idx].mean(axis=0)
    scale = np.maximum(x[train_idx].std(axis=0), 1e-3)
    xn = (x - mean) / scale
    counts = np.bincount(y[train_idx], minlength=n_classes)
    weights = {c: len(train_idx) / (n_classes * max(int(n), 1)) for c, n in enumerate(counts)}
    model = ml_classifier.build_keras(n_classes, {**ml_classifier.ARCHITECTURE, "dropout": 0.3})
    fit = model.fit(
        xn[train_idx],
        y[train_idx],
        validation_data=(xn[val_idx], y[val_idx]),
        epochs=200,
        batch_size=min(128, max(16, len(train_idx) // 4)),
        class_weight=weights,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss", min_delta=1e-3, patience=20, restore_best_weights=True
            )
        ],
        verbose=0,
    )
    predicted = model.predict(xn[val_idx], verbose=0).argmax(axis=1)
    accuracy = float((predicted == y[val_idx]).mean())
    return accuracy, len(fit.history["loss"]), time.monotonic() - started


def bench_training(sizes: list[int], baseline: bool) -> dict[int, ml_classifier.Classifier]:
    trained = {}
    for n_people in sizes:
        x, y = gallery(n_people)
        reports: list[tuple[int, int]] = []
        result = ml_classifier.train(
            x, y, epochs=200, patience=20, progress=lambda d, p, r=reports: r.append((d, p))
        )
        plan = ml_classifier.schedule_for(int(len(y) * 0.8), epochs=200, patience=20)
        started = time.monotonic()
        calibration = openset.calibrate(x, y)
        calibrate_s = time.monotonic() - started
        print(
            f"training {n_people:,} people x 10: {result.seconds:.1f} s, {result.epochs_run} "
            f"epochs (best {result.best_epoch}; batch {plan.batch_size}, patience "
            f"{plan.patience}), validation accuracy {result.val_accuracy:.3f}; progress "
            f"reported 1 of {reports[0][1]} ... {reports[-1][0]} of {reports[-1][1]}; "
            f"calibration {calibrate_s:.1f} s (threshold {calibration.threshold}); "
            f"peak RSS so far {peak_rss_mb():.0f} MB",
            flush=True,
        )
        if baseline and n_people == 1000:
            accuracy, epochs, seconds = old_recipe(x, y)
            print(
                f"  previous recipe, same gallery: {seconds:.1f} s, {epochs} epochs, "
                f"validation accuracy {accuracy:.3f} (ratio of times "
                f"{result.seconds / seconds:.2f})",
                flush=True,
            )
        trained[n_people] = result.classifier
    return trained


def random_classifier(n_classes: int, centroids: np.ndarray) -> ml_classifier.Classifier:
    """Weights of the right shapes (the decision's cost does not depend on their values)."""
    rng = np.random.default_rng(1)
    shapes = [(5, 1, 32), (32,), (3, 32, 64), (64,), (2048, 128), (128,), (128, n_classes)]
    shapes.append((n_classes,))
    return ml_classifier.Classifier(
        weights=[rng.normal(0, 0.05, s).astype(np.float32) for s in shapes],
        mean=np.zeros(128, np.float32),
        scale=np.ones(128, np.float32),
        centroids=centroids,
    )


def bench_decision(classifier: ml_classifier.Classifier | None) -> None:
    x, y = gallery(10_000)
    centroids = ml_classifier.class_centroids(x, y, 10_000)
    model = classifier or random_classifier(10_000, centroids)
    calibration = openset.Calibration(threshold=0.5, ratio=0.9)
    face = x[:1] + 0.01

    def decide() -> None:
        openset.decide(model.probabilities(face), face, model.centroids, calibration)

    forward = median_ms(lambda: model.probabilities(face), 200)
    total = median_ms(decide, 200)
    source = "trained" if classifier is not None else "random weights"
    print(
        f"per-face decision, 10,000 people ({source}): {total:.2f} ms "
        f"(CNN forward pass {forward:.2f} ms, nearest centroids + rule {total - forward:.2f} ms)"
    )


def bench_search(sizes: list[int]) -> None:
    for n in sizes:
        x, y = gallery(n // 10)
        ids = np.arange(n, dtype=np.int64)
        # New photos of 200 enrolled people: their centre plus fresh noise.
        rng = np.random.default_rng(5)
        who = rng.choice(n // 10, 200, replace=False)
        centres = ml_classifier.class_centroids(x, y, n // 10)[who]
        queries = (centres + rng.normal(0, 0.04, centres.shape)).astype(np.float32)
        exact = search.PhotoIndex(ids, vectors=x)  # exact whatever the size, for reference
        exact_ms = median_ms(lambda e=exact, q=queries: e.nearest(q[:1], k=10), 20)
        started = time.monotonic()
        index = search.build(x, ids, y)
        build_s = time.monotonic() - started
        line = f"nearest 10 photos among {n:,} embeddings: exact scan {exact_ms:.1f} ms a face"
        if index.kind == search.BY_PERSON:
            per_face = [
                median_ms(lambda i=index, q=q: i.nearest(q[None], k=10), 5) for q in queries[:50]
            ]
            truth = exact.nearest(queries, k=10).ids
            found = index.nearest(queries, k=10).ids
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
            size_mb = len(search.dumps(index)) / 1e6
            line += (
                f"; faiss IVF by person (used above {search.EXACT_LIMIT:,}) "
                f"{statistics.median(per_face):.2f} ms "
                f"a face (p99 {np.quantile(per_face, 0.99):.2f}), recall@10 {recall:.3f}, "
                f"built in {build_s:.0f} s, file {size_mb:.0f} MB"
            )
        else:
            line += " (what the index does at this size)"
        print(line + f"; peak RSS so far {peak_rss_mb():.0f} MB", flush=True)


def one_thread() -> None:
    """Serve-time thread settings: a gunicorn worker runs its BLAS, OpenMP and faiss
    pools with one thread (facerecog_site/gunicorn_conf.py); measure the same way (a
    two-thread BLAS pool on a busy machine made a 10,000-centroid scan 30x slower)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import faiss

    faiss.omp_set_num_threads(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", default="1000,10000")
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--search", default="100000,1000000")
    args = parser.parse_args()
    print(f"{len(os.sched_getaffinity(0))} cores; load average {os.getloadavg()}", flush=True)
    sizes = [int(n) for n in args.train.split(",") if n]
    trained = bench_training(sizes, args.baseline)
    one_thread()
    bench_decision(trained.get(10_000))
    bench_search([int(n) for n in args.search.split(",") if n])
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
