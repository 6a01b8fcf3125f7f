"""TensorFlow must not load at start-up: django-q2 forks its workers, and a worker
forked from a parent in which Keras had run hangs (measured: no result in 120 s).
Nor the face engines (dlib's ~100 MB of models, OpenCV's DNN and its thread pool):
they load in the process that first looks at a face."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
import django
django.setup()
from django.urls import get_resolver
get_resolver().url_patterns  # every urls, views, API and admin module
from django.contrib import admin
admin.autodiscover()
import recognition.tasks, recognition.loading, recognition.services.identify
loaded = sorted(name for name in ("tensorflow", "keras", "face_recognition", "dlib", "cv2")
                if name in sys.modules)
print(",".join(loaded))
"""


def test_nothing_imported_at_start_up_loads_tensorflow_or_dlib() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "", f"loaded at start-up: {result.stdout}"
