"""Other processes on the test database: the environment they start with, and a real
multi-process web server (gunicorn) for tests that need several processes to share state
(lockouts, throttles)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The test database, as a DATABASE_URL another process can open."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def child_env(media_root: Path, **extra: str) -> dict[str, str]:
    """This environment for a child process (qcluster, gunicorn) on the test database
    and ``media_root``, with the site's own settings module; ``extra`` wins. Q_SYNC is
    dropped: a child runs tasks inline only when ``extra`` says so."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"Q_SYNC", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "MEDIA_ROOT"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="facerecog_site.settings",
        DEBUG="true",
        DATABASE_URL=database_url(),
        MEDIA_ROOT=str(media_root),
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(*, workers: int, media_root: Path, log: Path, **env: str) -> Iterator[str]:
    """Serve the project with ``workers`` processes; yields the base URL."""
    port = free_port()
    # Tasks run inside the server as they do in this test process (Q_SYNC, tests/settings.py).
    sync = {"Q_SYNC": os.environ["Q_SYNC"]} if "Q_SYNC" in os.environ else {}
    environment = child_env(media_root, **sync, **env)
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                f"--workers={workers}",
                f"--bind=127.0.0.1:{port}",
                "--timeout=120",
                "facerecog_site.wsgi:application",
            ],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, process, log)
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            requests.get(f"{base}/api/", timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 60 s: {log.read_text()[-2000:]}")
