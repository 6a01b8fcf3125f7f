"""Test settings: the real settings module, with environment defaults for tests.

Everything still comes from facerecog_site.settings; only defaults change, and any
variable set in the environment (DATABASE_URL, REDIS_URL, ...) wins.
"""

from __future__ import annotations

import os
import secrets
import tempfile

os.environ.setdefault("DEBUG", "true")
# One key for this run, inherited by the processes tests start (a django-q2 cluster
# must share it to read the tasks it is sent).
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="facerecog-test-media-"))
os.environ.setdefault("FACE_TRAIN_EPOCHS", "60")
os.environ.setdefault("FACE_TRAIN_PATIENCE", "10")
os.environ.setdefault("Q_SYNC", "true")

from facerecog_site.settings import *  # noqa: F403
from facerecog_site.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A file, not SQLite's in-memory default, so a real django-q2 cluster started by a
# test in another process sees the same test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"facerecog-test-{os.getpid()}.sqlite3")
    }
