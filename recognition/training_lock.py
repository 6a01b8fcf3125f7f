"""One training at a time across every task cluster sharing the database.

Requests already keep at most one job queued or running, but a job's task can still be
delivered twice (a duplicate enqueue, django-q2's ORM broker re-delivering a task whose
worker is slow), and two clusters on one broker would then train the same job at once.
A training therefore holds a lock that only dies with the process holding it:

- PostgreSQL: a session advisory lock (released when the connection closes, so a
  killed worker frees it at once);
- SQLite (one machine by nature): an exclusive ``flock`` on a file beside the database.

A second holder waits for it (polling) and then finds the job finished.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

POLL_SECONDS = 0.5
_KEY = int.from_bytes(hashlib.sha256(b"facerecog-training").digest()[:8], "big", signed=True)


class TrainingBusy(Exception):
    """Another training held the lock for longer than we could wait."""


def _lock_file() -> Path:
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor == "sqlite" and name and not name.startswith(":memory:"):
        return Path(f"{name}.training.lock")
    return (
        Path(tempfile.gettempdir())
        / f"facerecog-{hashlib.sha256(name.encode()).hexdigest()[:16]}.training.lock"
    )


@contextmanager
def training_exclusive(*, wait: float) -> Iterator[None]:
    """Hold the cluster-wide training lock, waiting up to ``wait`` seconds; TrainingBusy."""
    deadline = time.monotonic() + wait
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [_KEY])
                if cursor.fetchone()[0]:
                    break
                if time.monotonic() >= deadline:
                    raise TrainingBusy(f"another training still runs after {wait:.0f} s")
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_KEY])
        return
    path = _lock_file()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TrainingBusy(f"another training still runs after {wait:.0f} s") from None
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # releases the lock
