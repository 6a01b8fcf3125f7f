"""What the benchmarks share: where the repository and the faces are, a throwaway
database and MEDIA_ROOT (set before django.setup()), and the servers they start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACES = Path(os.environ.get("FACES_DIR", ROOT.parent / "shared" / "faces")).resolve()


def setup_django() -> Path:
    """Fresh SQLite DB + media folder in a temp dir, migrated; returns the temp dir."""
    work = Path(tempfile.mkdtemp(prefix="facerecog-bench-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="facerecog_site.settings",
        DEBUG="true",
        DATABASE_URL=f"sqlite:///{work / 'bench.sqlite3'}",
        MEDIA_ROOT=str(work / "media"),
        Q_SYNC="true",
    )
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return work


def stop(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    """SIGTERM to a server started in its own session; its whole group is killed when it
    has not exited within ``timeout`` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def status_kb(pid: int, key: str) -> int:
    """A memory line of /proc/<pid>/status (VmRSS, VmHWM), in kB; 0 when absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0
