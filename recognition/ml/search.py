"""Nearest enrolled photos of a face, fast from ten photos to millions.

Pure: numpy arrays and bytes in and out; no Django.

A :class:`PhotoIndex` holds every enrolled embedding of a trained model with its
database id (the database stays the source of truth: the index is rebuilt with each
model and stored beside it). Up to ``EXACT_LIMIT`` embeddings the search is exact: one
matrix product in numpy (measured ~2-5 ms a face at 100,000). Above it, an HNSW graph
(faiss ``IndexHNSWFlat``: M=32, efConstruction=40, efSearch=128) answers in about a
millisecond at 1,000,000 embeddings, where an exact scan takes ~50 ms, at the cost of
recall just under 1 and a build of a minute or two; ``bench/scale.py`` measures all of
it. Distances are Euclidean, as everywhere else in recognition/.

File format (``FORMAT_VERSION``): an ``.npz`` (loaded with ``allow_pickle=False``)
with a JSON header (format version, kind, SHA-256 of every array), the ids, and either
the vectors (exact) or faiss's own serialisation of the graph (approximate).
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
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 128
EXACT, HNSW = "exact", "hnsw"


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
        self.graph = graph  # faiss index, approximate only
        self._norms = None if vectors is None else (vectors * vectors).sum(axis=1)

    @property
    def kind(self) -> str:
        return EXACT if self.graph is None else HNSW

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
            # HNSW may return fewer than k (-1) on a tiny graph; never here above EXACT_LIMIT.
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


def build(vectors: np.ndarray, ids: np.ndarray, *, exact_limit: int = EXACT_LIMIT) -> PhotoIndex:
    """An index of ``vectors`` float (n, 128) labelled by ``ids`` int (n,)."""
    x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(-1, EMBEDDING_DIM))
    if len(x) != len(ids):
        raise ValueError(f"{len(x)} vectors but {len(ids)} ids")
    if len(x) <= exact_limit:
        return PhotoIndex(ids, vectors=x)
    # Imported lazily: faiss loads its own OpenMP runtime, needed only for large galleries.
    import faiss

    graph = faiss.IndexHNSWFlat(EMBEDDING_DIM, HNSW_M)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    graph.add(x)
    graph.hnsw.efSearch = HNSW_EF_SEARCH
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
    if header.get("kind") == HNSW:
        import faiss

        graph: Any = faiss.deserialize_index(arrays["graph"])
        graph.hnsw.efSearch = HNSW_EF_SEARCH
        return PhotoIndex(arrays["ids"], vectors=None, graph=graph)
    return PhotoIndex(arrays["ids"], vectors=arrays["vectors"].astype(np.float32))
