"""Quoted table and column names of models, for the few queries written as SQL.

The identification path runs a handful of queries per request, and compiling an ORM
query costs Django ~0.4 ms of CPU, more than the database takes to answer it; those
queries are written by hand (recognition/evidence.py, accounts/backends.py). Their
names come from the models' _meta, so a renamed table or column cannot go stale, and
every value is a query parameter.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Field, Model


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column, f"{model.__name__}.{name} has no column"
    return connection.ops.quote_name(field.column)


def placeholders(values: list[int]) -> str:
    """``%s, %s, ...``: one per value, for an IN list."""
    return ", ".join(["%s"] * len(values))
