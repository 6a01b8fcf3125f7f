"""Nearest enrolled photos of a face, fast from ten photos to millions.

Pure: numpy arrays and bytes in and out; no Django.

A :class:`PhotoIndex` holds every enrolled embedding of a trained model with its
database id (the database stays the source of truth: the index is rebuilt with each
model and stored beside it). Up to ``EXACT_LIMIT`` embeddings the search is exact: one
matrix product in numpy (~10 ms a face at 100,000 on a busy 2-core machine; an
exact scan of 1,000,000 takes ~80 ms).

Above it, an approximate faiss inverted file (``IndexIVFFlat``) whose lists are the
people: the coarse quantizer holds each person's centroid and every photo is filed under
its own person, so nothing needs k-means training (built in ~1 s at 1,000,000) and a
query scans the photos of the ``NPROBE`` people whose centroids are nearest (~3-4 ms a
face at 1,000,000 embeddings of 100,000 people, recall@10 0.96 against the exact scan).
Generic graphs and k-means lists do poorly on face embeddings, which spread in all 128
dimensions around each person: measured on the same gallery, HNSW (M=32) reached recall
0.87 at efSearch 256 after a 107 s build of 300,000, and IVF with 1,024 k-means lists
0.66 at nprobe 64. ``bench/scale.py`` prints these figures. Distances are Euclidean,
as everywhere else in recognition/.

File format (``FORMAT_VERSION``): an ``.npz`` (loaded with ``allow_pickle=False``)
with a JSON header (format version, kind, SHA-256 of every array), the ids, and either
the vectors (exact) or faiss's own serialisation of the inverted file (approximate).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

FORMAT_VERSION = 1
EMBEDDING_DIM = 128
EXACT_LIMIT = 100_000
NPROBE = 32
EXACT, BY_PERSON = "exact", "ivf-by-person"


class IndexFileError(Exception):
    """An index file that cannot be used: corrupted or of another format version."""


def squared_distances(
    queries: np.ndarray, points: np.ndarray, point_norms: np.ndarray | None = None
) -> np.ndarray:
    """float32 (m, n) squared Euclidean distances, by |q|^2 + |p|^2 - 2 q.p.

    One matrix product instead of an (m, n, d) difference array: at 10,000 points it
    is ~50x less memory traffic. ``point_norms``: float32 (n,) |p|^2 when precomputed.
    """
    q = np.asarray(queries, dtype=np.float32).reshape(-1, points.shape[1])
    p = np.asarray(points, dtype=np.float32)
    norms = (p * p).sum(axis=1) if point_norms is None else point_norms
    d2 = (q * q).sum(axis=1)[:, None] + norms[None, :] - 2.0 * (q @ p.T)
    return np.maximum(d2, 0.0, out=d2)


@dataclass(frozen=True)
class Neighbours:
    """``distances`` float32 (m, k) ascending, ``ids`` int64 (m, k): nearest first."""

    distances: np.ndarray
    ids: np.ndarray


class PhotoIndex:
    """Embedding ids and what is needed to find the nearest ones to a face."""

    def __init__(self, ids: np.ndarray, *, vectors: np.ndarray | None, graph: Any = None) -> None:
        self.ids = np.asarray(ids, dtype=np.int64)
        self.vectors = vectors  # float32 (n, 128), exact only
        self.graph = graph  # faiss IndexIVFFlat, approximate only
        self._norms = None if vectors is None else (vectors * vectors).sum(axis=1)

    @property
    def kind(self) -> str:
        return EXACT if self.graph is None else BY_PERSON

    def __len__(self) -> int:
        return len(self.ids)

    def nearest(self, queries: np.ndarray, k: int = 5) -> Neighbours:
        """The ``k`` nearest embeddings (fewer when the index holds fewer) of each query.

        ``queries`` float (m, 128).
        """
        q = np.ascontiguousarray(np.asarray(queries, dtype=np.float32).reshape(-1, EMBEDDING_DIM))
        k = min(k, len(self))
        if k == 0 or len(q) == 0:
            empty = np.zeros((len(q), 0))
            return Neighbours(empty.astype(np.float32), empty.astype(np.int64))
        if self.graph is not None:
            d2, rows = self.graph.search(q, k)
            rows = np.asarray(rows)
            # -1 when the probed people hold fewer than k photos (never above EXACT_LIMIT
            # with NPROBE people of a few photos each, but keep the shape honest).
            ids = np.where(rows >= 0, self.ids[np.maximum(rows, 0)], -1)
            return Neighbours(np.sqrt(np.maximum(d2, 0)).astype(np.float32), ids)
        assert self.vectors is not None
        d2 = squared_distances(q, self.vectors, self._norms)
        top = (
            np.argpartition(d2, k - 1, axis=1)[:, :k]
            if k < len(self)
            else np.tile(np.arange(len(self)), (len(q), 1))
        )
        order = np.take_along_axis(d2, top, axis=1).argsort(axis=1, kind="stable")
        rows = np.take_along_axis(top, order, axis=1)
        distances = np.sqrt(np.take_along_axis(d2, rows, axis=1))
        return Neighbours(distances.astype(np.float32), self.ids[rows])


def build(
    vectors: np.ndarray,
    ids: np.ndarray,
    labels: np.ndarray,
    *,
    exact_limit: int = EXACT_LIMIT,
) -> PhotoIndex:
    """An index of ``vectors`` float (n, 128) with database ``ids`` int (n,), of the
    people ``labels`` int (n,) (any values; one inverted list per distinct label)."""
    x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(-1, EMBEDDING_DIM))
    if not len(x) == len(ids) == len(labels):
        raise ValueError(f"{len(x)} vectors, {len(ids)} ids and {len(labels)} labels")
    if len(x) <= exact_limit:
        return PhotoIndex(ids, vectors=x)
    # Imported lazily: faiss loads its own OpenMP runtime, needed only for large galleries.
    import faiss

    people, lists = np.unique(np.asarray(labels), return_inverse=True)
    sums = np.zeros((len(people), EMBEDDING_DIM))
    np.add.at(sums, lists, x)
    centroids = (sums / np.bincount(lists)[:, None]).astype(np.float32)
    quantizer = faiss.IndexFlatL2(EMBEDDING_DIM)
    quantizer.add(centroids)
    # faiss's wrapper keeps the quantizer alive as long as the index (referenced_objects).
    graph = faiss.IndexIVFFlat(quantizer, EMBEDDING_DIM, len(people))
    rows = np.arange(len(x), dtype=np.int64)
    assigned = np.ascontiguousarray(lists, dtype=np.int64)
    # swig_ptr keeps no reference: the three arrays must stay bound to names meanwhile.
    graph.add_core(len(x), faiss.swig_ptr(x), faiss.swig_ptr(rows), faiss.swig_ptr(assigned))
    graph.nprobe = NPROBE
    return PhotoIndex(ids, vectors=None, graph=graph)


def _checksum(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def dumps(index: PhotoIndex) -> bytes:
    """The index as bytes (an .npz; see the module docstring)."""
    arrays: dict[str, np.ndarray] = {"ids": index.ids}
    if index.graph is None:
        assert index.vectors is not None
        arrays["vectors"] = index.vectors
    else:
        import faiss

        arrays["graph"] = faiss.serialize_index(index.graph)
    header = {
        "format_version": FORMAT_VERSION,
        "kind": index.kind,
        "checksums": {name: _checksum(a) for name, a in arrays.items()},
    }
    payload: dict[str, Any] = {
        "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
        **arrays,
    }
    buffer = io.BytesIO()
    np.savez(buffer, **payload)
    return buffer.getvalue()


def loads(data: bytes) -> PhotoIndex:
    """Read what :func:`dumps` wrote, or raise IndexFileError saying what is wrong."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        header = json.loads(arrays.pop("header").tobytes().decode())
    except (OSError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile, EOFError):
        raise IndexFileError("the search index is corrupted or not an index file") from None
    if header.get("format_version") != FORMAT_VERSION:
        raise IndexFileError(
            f"the search index has format version {header.get('format_version')}; this "
            f"version reads {FORMAT_VERSION}. Train a new model to rebuild it."
        )
    checksums = header.get("checksums", {})
    if set(checksums) != set(arrays) or any(
        _checksum(a) != checksums[n] for n, a in arrays.items()
    ):
        raise IndexFileError("the search index is corrupted (checksum mismatch)")
    if header.get("kind") == BY_PERSON:
        import faiss

        graph: Any = faiss.deserialize_index(arrays["graph"])
        graph.nprobe = NPROBE
        return PhotoIndex(arrays["ids"], vectors=None, graph=graph)
    return PhotoIndex(arrays["ids"], vectors=arrays["vectors"].astype(np.float32))
