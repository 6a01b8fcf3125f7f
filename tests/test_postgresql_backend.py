"""facerecog_site.postgresql: prepared hand-written statements, and a health check that
needs no round trip unless the server has spoken.

Runs in both CI passes against the local PostgreSQL, on a scratch database of its own
(the SQLite pass has no PostgreSQL connection otherwise).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db.utils import ConnectionHandler

from facerecog_site.postgresql.base import DatabaseWrapper

SERVER = "postgresql://postgres@127.0.0.1:5432"
SCRATCH = f"facerecog_backend_{os.getpid()}"


@pytest.fixture(scope="module")
def scratch_database() -> Iterator[str]:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH}")
        admin.execute(f"CREATE DATABASE {SCRATCH}")
    yield SCRATCH
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")


@pytest.fixture
def connect(scratch_database: str, django_db_blocker: Any) -> Iterator[Any]:
    """Wrappers of their own (not the suite's database), which pytest-django lets
    connect once unblocked."""
    opened: list[DatabaseWrapper] = []

    def make(**options: Any) -> DatabaseWrapper:
        handler = ConnectionHandler(
            {
                "default": {
                    "ENGINE": "facerecog_site.postgresql",
                    "NAME": scratch_database,
                    "USER": "postgres",
                    "HOST": "127.0.0.1",
                    "PORT": "5432",
                    "CONN_MAX_AGE": 600,
                    "CONN_HEALTH_CHECKS": True,
                    "OPTIONS": options,
                }
            }
        )
        wrapper = handler["default"]
        assert isinstance(wrapper, DatabaseWrapper)
        opened.append(wrapper)
        return wrapper

    with django_db_blocker.unblock():
        yield make
        for wrapper in opened:
            wrapper.close()


def prepared(wrapper: DatabaseWrapper) -> list[str]:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
        return [statement for (statement,) in cursor.fetchall()]


def backend_pid(wrapper: DatabaseWrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def next_request(wrapper: DatabaseWrapper) -> None:
    """What Django does between two requests on a kept connection."""
    wrapper.close_if_unusable_or_obsolete()


def test_statements_are_prepared_once_per_connection_and_answer_rightly(connect):
    db = connect()
    for n in (1, 41):
        with db.prepared_cursor() as cursor:
            cursor.execute("SELECT %s::int + 1, %s::text", [n, "zoë"])
            assert cursor.fetchone() == (n + 1, "zoë")
    assert prepared(db) == ["SELECT $1::int + 1, $2::text"]
    # The ORM's cursors keep Django's client-side binding: nothing prepared for them.
    with db.cursor() as cursor:
        cursor.execute("SELECT %s::int * 2", [4])
        assert cursor.fetchone() == (8,)
    assert prepared(db) == ["SELECT $1::int + 1, $2::text"]


def test_prepared_statements_can_be_turned_off_for_a_pooler(connect):
    db = connect(prepared_statements=False)
    with db.prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int + 1", [1])
        assert cursor.fetchone() == (2,)
    assert prepared(db) == []


def test_a_silent_kept_connection_is_reused_without_a_round_trip(connect, monkeypatch):
    db = connect()
    pid = backend_pid(db)
    checks: list[bool] = []
    real_is_usable = db.is_usable
    monkeypatch.setattr(db, "is_usable", lambda: checks.append(True) or real_is_usable())
    for _ in range(3):
        next_request(db)
        assert backend_pid(db) == pid
    assert checks == []


def test_a_connection_the_server_ended_is_replaced_before_a_request_uses_it(connect, monkeypatch):
    db = connect()
    pid = backend_pid(db)
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while db._server_silent() and time.monotonic() < deadline:  # the server's goodbye
        time.sleep(0.01)
    checks: list[bool] = []
    real_is_usable = db.is_usable
    monkeypatch.setattr(db, "is_usable", lambda: checks.append(True) or real_is_usable())
    next_request(db)
    with db.prepared_cursor() as cursor:  # no error: a new connection
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
    assert checks == [True]  # Django's own check ran, found it dead


def test_a_connection_inside_a_transaction_is_not_taken_for_silent(connect):
    db = connect()
    backend_pid(db)
    db.set_autocommit(False)
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert not db._server_silent()
    finally:
        db.rollback()
        db.set_autocommit(True)
    assert db._server_silent()
