"""A throwaway database and MEDIA_ROOT for a benchmark run (set before django.setup())."""

from __future__ import annotations

import os
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
