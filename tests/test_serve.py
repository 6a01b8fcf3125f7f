"""``make serve`` (scripts/serve.sh): gunicorn + the task queue, stopped whole by SIGTERM.

Starts the real script on a throw-away SQLite database, checks that it answers, that
the model/face engine live in the workers and never in the gunicorn master, that no web
process loads TensorFlow, and that SIGTERM ends every process it started within 10 s.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parent.parent
STOP_LIMIT_SECONDS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            children.setdefault(parent(int(entry.name)), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.queue
def test_serve_answers_and_sigterm_stops_every_process_within_10_s(tmp_path: Path) -> None:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "Q_SYNC", "REDIS_URL", "DEBUG"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        STATIC_ROOT=str(tmp_path / "static"),
        SECRET_KEY="serve-test-" + "k" * 50,
        SECURE_SSL_REDIRECT="false",
        RUN_ADDRESS=f"127.0.0.1:{port}",
        WEB_WORKERS="2",
        Q_CLUSTER_NAME=f"serve-test-{os.getpid()}",
    )
    log = (tmp_path / "serve.log").open("w+")
    started: set[int] = set()
    process = subprocess.Popen(
        ["bash", "scripts/serve.sh"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        ready = False
        while time.monotonic() < deadline and process.poll() is None and not ready:
            time.sleep(0.5)
            log.seek(0)
            text = log.read()
            ready = text.count("worker ready:") >= 2 and "running." in text
        log.seek(0)
        assert ready, log.read()[-4000:]
        assert get(f"http://127.0.0.1:{port}/accounts/login/") == 200
        assert get(f"http://127.0.0.1:{port}/api/people/") == 401

        started = descendants(process.pid)
        masters = [
            p for p in started if "gunicorn" in cmdline(p) and "gunicorn" not in cmdline(parent(p))
        ]
        assert len(masters) == 1, [cmdline(p) for p in started]
        master = masters[0]
        workers = descendants(master)
        assert len(workers) == 2
        # The face engine is loaded after the fork, in each worker only (dlib's library,
        # or OpenCV's for the opencv engine).
        library = {"dlib": "dlib", "opencv": "cv2"}[django_settings.FACE_ENGINE]
        assert library not in mapped(master)
        for worker in workers:
            maps = mapped(worker)
            assert library in maps
            assert "tensorflow" not in maps  # serving runs the model in numpy
        assert any("qcluster" in cmdline(p) for p in started)

        process.send_signal(signal.SIGTERM)
        stop_started = time.monotonic()
        while time.monotonic() - stop_started < 30 and any(alive(p) for p in started):
            time.sleep(0.05)
        took = time.monotonic() - stop_started
        left = [cmdline(p) for p in started if alive(p)]
        assert not left, f"still running after {took:.1f} s: {left}"
        assert took <= STOP_LIMIT_SECONDS, f"stopping took {took:.1f} s"
        assert process.wait(timeout=5) != 0  # stopped by a signal, says so
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for pid in started | descendants(process.pid):
            # Only what this test started (a pid of a finished process may be reused).
            if alive(pid) and any(n in cmdline(pid) for n in ("gunicorn", "qcluster")):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        log.close()
