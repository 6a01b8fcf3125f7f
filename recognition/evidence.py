"""What an identification reads after the geometry, in one query.

For the people near the faces: which still exist (and their names), the faces reviewers
said are not them (corrections), and, for the people the model named, their enrolled
photos' embeddings (the nearest are shown as what the answer matched).

These were three ORM queries on every identification; compiling them cost more than
running them (in one process on PostgreSQL: the three ORM queries 1.4-1.8 ms of CPU,
one ORM UNION 1.5-1.7 ms, this hand-written UNION ALL 0.11-0.13 ms). So this read is
SQL (see facerecog_site.handwritten_sql); tests/test_recognition_evidence.py runs it on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from django.db import connection

from facerecog_site.handwritten_sql import column, cursor, placeholders, table
from people.models import FaceImage, Person
from recognition.models import Correction, Embedding

_PERSON, _NEGATIVE, _PHOTO = "p", "n", "e"


@dataclass(frozen=True)
class Evidence:
    """``names``: person id -> name of the people who still exist; ``negatives``: person
    id -> float32 (m, 128) "not this person" faces; ``photos``: person id -> (FaceImage
    ids int64 (n,), their embeddings float32 (n, 128))."""

    names: dict[int, str] = field(default_factory=dict)
    negatives: dict[int, np.ndarray] = field(default_factory=dict)
    photos: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def answer_evidence(*, near: Iterable[int], named: Iterable[int], encoder: str) -> Evidence:
    """The evidence for faces near people ``near``, of whom the model named ``named``.

    ``encoder``: the vector space of the model; corrections recorded in another are not
    comparable and are left out.
    """
    near, named = sorted(set(near)), sorted(set(named))
    if not near:
        return Evidence()
    people, corrections, photos_of = _sql()
    sql = [people.format(placeholders(near)), corrections.format(placeholders(near))]
    params: list[int | str] = [*near, Correction.Kind.NOT_PERSON, encoder, *near]
    if named:
        sql.append(photos_of.format(placeholders(named)))
        params += named
    with cursor() as db:
        db.execute(" UNION ALL ".join(sql), params)
        rows = db.fetchall()
    names: dict[int, str] = {}
    negatives: dict[int, list[np.ndarray]] = {}
    photos: dict[int, list[tuple[int, np.ndarray]]] = {}
    for kind, person_id, photo_id, name, data in rows:
        if kind == _PERSON:
            names[person_id] = name
        elif kind == _NEGATIVE:
            negatives.setdefault(person_id, []).append(Embedding.unpack(data))
        else:
            photos.setdefault(person_id, []).append((photo_id, Embedding.unpack(data)))
    return Evidence(
        names=names,
        negatives={p: np.stack(vectors) for p, vectors in negatives.items()},
        photos={
            p: (
                np.array([photo_id for photo_id, _ in rows], dtype=np.int64),
                np.stack([vector for _, vector in rows]),
            )
            for p, rows in photos.items()
        },
    )


@cache
def _sql() -> tuple[str, str, str]:
    """The three SELECTs (``{}``: the IN list's placeholders), columns (kind, person id,
    photo id, name, vector). The NULLs are typed: PostgreSQL would type a column of
    NULLs in a UNION as text, which does not match the others. Only names from the
    models' _meta are formatted in; every value is a parameter."""
    types = connection.data_types
    bigint, blob, text = types["BigIntegerField"], types["BinaryField"], "varchar(200)"

    people = (
        f"SELECT '{_PERSON}', {column(Person, 'id')}, CAST(NULL AS {bigint}), "
        f"{column(Person, 'name')}, CAST(NULL AS {blob}) "
        f"FROM {table(Person)} WHERE {column(Person, 'id')} IN ({{}})"
    )
    corrections = (
        f"SELECT '{_NEGATIVE}', {column(Correction, 'person')}, CAST(NULL AS {bigint}), "
        f"CAST(NULL AS {text}), {column(Correction, 'data')} "
        f"FROM {table(Correction)} WHERE {column(Correction, 'kind')} = %s "
        f"AND {column(Correction, 'encoder')} = %s "
        f"AND LENGTH({column(Correction, 'data')}) > 0 "
        f"AND {column(Correction, 'person')} IN ({{}})"
    )
    e, f = table(Embedding), table(FaceImage)
    photos = (
        f"SELECT '{_PHOTO}', {f}.{column(FaceImage, 'person')}, "
        f"{e}.{column(Embedding, 'face_image')}, CAST(NULL AS {text}), "
        f"{e}.{column(Embedding, 'data')} "
        f"FROM {e} INNER JOIN {f} ON {f}.{column(FaceImage, 'id')} = "
        f"{e}.{column(Embedding, 'face_image')} "
        f"WHERE {f}.{column(FaceImage, 'person')} IN ({{}})"
    )
    return people, corrections, photos
