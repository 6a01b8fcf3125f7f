"""WSGI entry point (gunicorn, uwsgi, mod_wsgi)."""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerecog_site.settings")

# gunicorn's "app failed to load" exit status: its master stops instead of respawning.
APP_LOAD_ERROR = 4

try:
    application = get_wsgi_application()
except ImproperlyConfigured as exc:
    # One line naming the variable, not a traceback per worker.
    print(f"Configuration error: {exc}", file=sys.stderr)
    sys.exit(APP_LOAD_ERROR)
