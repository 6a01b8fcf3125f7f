"""For the few queries written as SQL: models' quoted names, and model instances from rows.

The identification path runs a handful of queries per request, and compiling an ORM
query costs Django ~0.4 ms of CPU, more than the database takes to answer it; those
queries are written by hand (recognition/evidence.py, accounts/backends.py,
accounts/authentication.py). Their names come from the models' _meta, so a renamed
table or column cannot go stale, and every value is a query parameter. Rows become
model instances with the database's own value converters, and instances become rows
with the fields' own preparation (pre_save, get_db_prep_save), as in the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def _db() -> BaseDatabaseWrapper:
    """This thread's connection, looked up once per call here: every attribute read
    through ``django.db.connection`` (a proxy) costs a thread-local lookup, and the
    field preparation below reads it dozens of times a row."""
    return connections[DEFAULT_DB_ALIAS]


def cursor() -> CursorWrapper:
    """A cursor for these statements: on PostgreSQL each is prepared once per connection
    (facerecog_site/postgresql), elsewhere Django's own."""
    db = _db()
    prepared = getattr(db, "prepared_cursor", None)
    return prepared() if prepared else db.cursor()


def table(model: type[Model]) -> str:
    return _db().ops.quote_name(model._meta.db_table)


def column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column, f"{model.__name__}.{name} has no column"
    return _db().ops.quote_name(field.column)


def placeholders(values: Sequence[object]) -> str:
    """``%s, %s, ...``: one per value (an IN list, a VALUES row)."""
    return ", ".join(["%s"] * len(values))


def columns(model: type[Model]) -> str:
    """``table.column, ...`` of every concrete field, in :func:`instance`'s order."""
    name = table(model)
    return ", ".join(f"{name}.{column(model, field.name)}" for field in _fields(model))


def instance(model: type[M], values: Sequence[Any]) -> M:
    """A ``model`` read from ``values``, the row's :func:`columns`, converted as the ORM
    converts them (SQLite's datetimes become aware ones, for example)."""
    db = _db()
    converted = []
    for (col, converters), value in zip(_converters(model), values, strict=True):
        for convert in converters:
            value = convert(value, col, db)
        converted.append(value)
    return model.from_db(db.alias, _attnames(model), converted)


def insert(objs: Sequence[M]) -> None:
    """INSERT ``objs`` (new instances of one model with an automatic primary key) in one
    statement, as ``bulk_create`` would: each field prepared by the field itself
    (``auto_now_add`` times, JSON, files' names); sets each one's ``pk`` from RETURNING."""
    if not objs:
        return
    model = type(objs[0])
    db = _db()
    if not db.features.can_return_rows_from_bulk_insert:  # SQLite before 3.35
        model._default_manager.bulk_create(objs)
        return
    fields = _insert_fields(model)
    with cursor() as rows:
        rows.execute(
            _insert_sql(model, len(objs)),
            [value for obj in objs for value in _prepared(obj, fields, db)],
        )
        keys = rows.fetchall()
    for obj, (key,) in zip(objs, keys, strict=True):
        _saved(obj, key, db)


def insert_family(parent: Model, children: Sequence[Model], *, link: str) -> None:
    """INSERT ``parent`` and ``children`` (new instances whose ForeignKey ``link`` is to
    be ``parent``) all or nothing, setting every pk.

    PostgreSQL: one statement (the parent in a WITH, each child in its own, reading the
    parent's new id), which is atomic by itself: one round trip where a transaction took
    five (BEGIN, three INSERTs, COMMIT). Elsewhere: a transaction of one INSERT per
    model (SQLite has no INSERT in WITH, and its round trips cost nothing).
    """
    db = _db()
    if db.vendor != "postgresql":
        with transaction.atomic():
            insert([parent])
            for child in children:
                setattr(child, link, parent)
            for model in dict.fromkeys(type(child) for child in children):
                insert([child for child in children if type(child) is model])
        return
    family = [parent, *children]
    params = []
    for n, obj in enumerate(family):
        params += _prepared(obj, _family_fields(type(obj), "" if n == 0 else link), db)
    with cursor() as rows:
        rows.execute(_family_sql(tuple(type(obj) for obj in family), link), params)
        keys = dict(rows.fetchall())
    for n, obj in enumerate(family):
        if n:
            setattr(obj, link, parent)
        _saved(obj, keys[n], db)


# --- statement text, built once per model (or family) from _meta ----------------------


@cache
def _insert_sql(model: type[Model], rows: int) -> str:
    fields = _insert_fields(model)
    marks = f"({placeholders(fields)})"
    return (
        f"INSERT INTO {table(model)} ({', '.join(column(model, f.name) for f in fields)}) "
        f"VALUES {', '.join([marks] * rows)} "
        f"RETURNING {column(model, model._meta.pk.name)}"
    )


@cache
def _family_sql(models: tuple[type[Model], ...], link: str) -> str:
    """``WITH r0 AS (INSERT parent), r1 AS (INSERT child reading r0's id), ...`` returning
    (position, id) pairs; the parameters are each row's :func:`_family_fields` in turn."""
    parts = []
    parent = models[0]
    for n, model in enumerate(models):
        fields = _family_fields(model, "" if n == 0 else link)
        names = [column(model, f.name) for f in fields]
        marks = placeholders(fields)
        if n:
            names.insert(0, column(model, link))
            marks = f"(SELECT {column(parent, parent._meta.pk.name)} FROM r0), {marks}"
        parts.append(
            f"r{n} AS (INSERT INTO {table(model)} ({', '.join(names)}) "
            f"VALUES ({marks}) RETURNING {column(model, model._meta.pk.name)} AS id)"
        )
    reads = " UNION ALL ".join(f"SELECT {n} AS n, id FROM r{n}" for n in range(len(parts)))
    return f"WITH {', '.join(parts)} {reads}"


@cache
def _insert_fields(model: type[Model]) -> list[Field]:
    return [f for f in _fields(model) if not f.primary_key]


@cache
def _family_fields(model: type[Model], link: str) -> list[Field]:
    """The fields a family member's row gives values for: all but the primary key and
    the ``link`` to the parent (read from r0 instead; "" for the parent itself)."""
    return [f for f in _insert_fields(model) if f.name != link]


def _prepared(obj: Model, fields: list[Field], db: BaseDatabaseWrapper) -> list[Any]:
    """``obj``'s values of ``fields`` for an INSERT, as the ORM prepares them."""
    return [f.get_db_prep_save(f.pre_save(obj, True), db) for f in fields]


def _saved(obj: Model, key: Any, db: BaseDatabaseWrapper) -> None:
    """``obj`` was inserted with primary key ``key``."""
    obj.pk = key
    obj._state.adding, obj._state.db = False, db.alias


@cache
def _fields(model: type[Model]) -> list[Field]:
    return list(model._meta.concrete_fields)


@cache
def _attnames(model: type[Model]) -> list[str]:
    return [f.attname for f in _fields(model)]


@cache
def _converters(model: type[Model]) -> list[tuple[Any, list[Callable[..., Any]]]]:
    db = _db()
    found = []
    for field in _fields(model):
        col = field.get_col(model._meta.db_table)
        found.append((col, db.ops.get_db_converters(col) + col.get_db_converters(db)))
    return found
