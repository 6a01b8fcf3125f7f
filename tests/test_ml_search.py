"""Nearest-photo search: exact below EXACT_LIMIT, HNSW above; safe file format."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from recognition.ml import search


def clustered(n_people: int, per_person: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (n_people, 128))
    centres *= 0.45 / np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.normal(0, 0.04, (n_people * per_person, 128))
    return (np.repeat(centres, per_person, axis=0) + noise).astype(np.float32)


def people(n_people: int, per_person: int) -> np.ndarray:
    return np.repeat(np.arange(n_people), per_person)


def brute_force(queries: np.ndarray, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    d = np.linalg.norm(queries[:, None, :].astype(np.float64) - vectors[None], axis=2)
    rows = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, rows, axis=1), rows


def test_squared_distances_match_the_definition():
    rng = np.random.default_rng(1)
    q, p = rng.normal(0, 0.3, (4, 128)), rng.normal(0, 0.3, (9, 128))
    expected = ((q[:, None, :] - p[None]) ** 2).sum(axis=2)
    got = search.squared_distances(q, p)
    assert got.shape == (4, 9) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_exact_search_returns_the_nearest_ids_in_order():
    vectors = clustered(50, 6)
    ids = np.arange(1000, 1000 + len(vectors), dtype=np.int64)[::-1].copy()  # any database ids
    index = search.build(vectors, ids, people(50, 6))
    assert index.kind == search.EXACT and len(index) == 300
    queries = clustered(50, 6, seed=7)[:10]
    found = index.nearest(queries, k=5)
    distances, rows = brute_force(queries, vectors, 5)
    assert found.ids.shape == (10, 5) and found.ids.dtype == np.int64
    np.testing.assert_array_equal(found.ids, ids[rows])
    np.testing.assert_allclose(found.distances, distances, rtol=1e-4, atol=1e-5)
    assert (np.diff(found.distances, axis=1) >= 0).all()


def test_asking_for_more_neighbours_than_stored_returns_them_all():
    vectors = clustered(2, 2)
    index = search.build(vectors, np.array([5, 6, 7, 8]), people(2, 2))
    found = index.nearest(vectors[:1], k=10)
    assert found.ids.shape == (1, 4) and found.ids[0, 0] == 5
    empty = search.build(np.zeros((0, 128)), np.zeros(0), np.zeros(0))
    assert empty.nearest(vectors[:1], k=3).ids.shape == (1, 0)


def test_above_the_exact_limit_an_index_by_person_finds_almost_every_true_neighbour():
    vectors = clustered(400, 10)
    ids = np.arange(len(vectors), dtype=np.int64) * 3
    labels = people(400, 10) * 7 + 100  # any label values: database person ids
    index = search.build(vectors, ids, labels, exact_limit=1000)
    assert index.kind == search.BY_PERSON
    queries = vectors[::40] + np.random.default_rng(3).normal(0, 0.01, (100, 128))
    found = index.nearest(queries, k=10)
    _distances, rows = brute_force(queries, vectors, 10)
    recall = np.mean([len(set(f) & set(ids[r])) / 10 for f, r in zip(found.ids, rows, strict=True)])
    assert recall >= 0.95
    with pytest.raises(ValueError, match="labels"):
        search.build(vectors, ids, labels[:-1])
    # Each query's own person (its 10 photos) comes first.
    np.testing.assert_array_equal(found.ids[:, 0] // 30, np.arange(len(queries)) * 4)


@pytest.mark.parametrize("exact_limit", [search.EXACT_LIMIT, 100])
def test_file_round_trip_gives_the_same_answers(exact_limit):
    vectors = clustered(30, 10)
    index = search.build(vectors, np.arange(300) + 1, people(30, 10), exact_limit=exact_limit)
    loaded = search.loads(search.dumps(index))
    assert loaded.kind == index.kind and len(loaded) == 300
    queries = vectors[::40] + 0.01
    np.testing.assert_array_equal(loaded.nearest(queries).ids, index.nearest(queries).ids)


def test_a_damaged_or_future_file_is_refused():
    data = search.dumps(search.build(clustered(5, 4), np.arange(20), people(5, 4)))
    with np.load(io.BytesIO(data)) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["ids"] = arrays["ids"] + 1
    damaged = io.BytesIO()
    np.savez(damaged, **arrays)
    with pytest.raises(search.IndexFileError, match="checksum"):
        search.loads(damaged.getvalue())
    header = json.loads(arrays["header"].tobytes())
    header["format_version"] = search.FORMAT_VERSION + 1
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    future = io.BytesIO()
    np.savez(future, **arrays)
    with pytest.raises(search.IndexFileError, match="format version"):
        search.loads(future.getvalue())
    with pytest.raises(search.IndexFileError, match="corrupted"):
        search.loads(b"not an index")
