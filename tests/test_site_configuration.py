"""Settings from the environment: the per-installation secret key, one-line errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from facerecog_site.secret_key import PUBLISHED_DEV_KEY, secret_key

ROOT = Path(__file__).resolve().parent.parent
STRONG = "k3y-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN"


def manage(args: list[str], tmp_path: Path, **variables: str) -> subprocess.CompletedProcess:
    """manage.py as a newcomer runs it: nothing exported but where the data goes."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unset_key_is_generated_once_per_installation_with_mode_0600(tmp_path):
    key_file = tmp_path / "data" / ".secret_key"
    first = secret_key(configured="", key_file=key_file, production=False)
    assert len(first) >= 50 and first != PUBLISHED_DEV_KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert secret_key(configured="", key_file=key_file, production=False) == first
    other = secret_key(configured="", key_file=tmp_path / "other" / ".secret_key", production=False)
    assert other != first
    assert [p.name for p in key_file.parent.iterdir()] == [".secret_key"]  # no temp left


def test_production_refuses_a_missing_or_weak_key(tmp_path):
    key_file = tmp_path / ".secret_key"
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        secret_key(configured="", key_file=key_file, production=True)
    assert not key_file.exists()
    for weak in ("short", PUBLISHED_DEV_KEY, "a" * 60, "django-insecure-" + STRONG):
        with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is too weak"):
            secret_key(configured=weak, key_file=key_file, production=True)
    assert secret_key(configured=STRONG, key_file=key_file, production=True) == STRONG


def test_the_published_development_key_is_refused_even_locally(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="too weak"):
        secret_key(configured=PUBLISHED_DEV_KEY, key_file=tmp_path / "k", production=False)


def test_a_fresh_checkout_runs_commands_without_exporting_anything(tmp_path):
    result = manage(["migrate", "--noinput", "-v", "0"], tmp_path)
    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "media" / ".secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    assert manage(["check"], tmp_path).returncode == 0
    assert key_file.read_text() == key  # kept, not regenerated


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"FACE_MIN_SIZE": "forty"}, "FACE_MIN_SIZE"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"Q_POLL": "0"}, "Q_POLL"),  # would spin
        ({"ALLOWED_HOSTS": "faces.example.org"}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": "faces.example.org", "SECRET_KEY": "short"}, "SECRET_KEY"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path, variables, named):
    result = manage(["check"], tmp_path, **variables)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_the_wsgi_entry_reports_a_bad_setting_in_one_line(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "DEBUG": "maybe", "MEDIA_ROOT": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import facerecog_site.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 4  # gunicorn's "app failed to load": no respawn loop
    assert result.stderr.strip().splitlines() == [
        "Configuration error: DEBUG must be a boolean (true/false), got 'maybe'"
    ]
