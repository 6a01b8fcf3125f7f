"""`make run` (scripts/run.sh) stops cleanly: web server and task cluster, no leftovers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STOP_LIMIT = 10.0  # seconds, from the signal to the last process gone


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, grandchildren ...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)  # noqa: S310 - a local test URL
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def default_signals() -> None:
    # As from a terminal: a test runner started in the background may ignore SIGINT,
    # and a shell cannot trap a signal that was ignored when it started.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.setsid()  # one process group for make and its shell, like a terminal's job


@pytest.mark.queue
@pytest.mark.parametrize("how", ["SIGTERM to make", "Ctrl-C (SIGINT to the job)"])
def test_make_run_stops_server_and_cluster_within_ten_seconds(tmp_path, how):
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "RUN_ADDRESS": f"127.0.0.1:{port}",
        "Q_CLUSTER_NAME": f"run-test-{port}",
    }
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        make = subprocess.Popen(
            ["make", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=default_signals,
        )
    processes: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while not (answers(f"http://127.0.0.1:{port}/") and "running." in log_path.read_text()):
            assert make.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        assert f"Web UI: http://127.0.0.1:{port}/" in log_path.read_text()
        processes = descendants(make.pid)
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in processes]
        assert any(b"runserver" in command for command in commands)
        assert any(b"qcluster" in command for command in commands)

        sent = time.monotonic()
        if how == "SIGTERM to make":
            make.send_signal(signal.SIGTERM)
        else:
            os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=STOP_LIMIT)
        while any(running(pid) for pid in processes) and time.monotonic() - sent < STOP_LIMIT:
            time.sleep(0.1)
        left = sorted(pid for pid in processes if running(pid))
        assert left == [], log_path.read_text()
        assert time.monotonic() - sent < STOP_LIMIT
        assert not answers(f"http://127.0.0.1:{port}/")
    finally:
        for pid in processes | ({make.pid} if make.poll() is None else set()):
            if running(pid):
                os.kill(pid, signal.SIGKILL)  # a failed stop leaves nothing behind either
        make.wait()
