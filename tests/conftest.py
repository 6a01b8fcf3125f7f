"""Shared fixtures: real face photos, an isolated media folder, users."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import LazySettings

ROOT = Path(__file__).resolve().parent.parent


def faces_dir_path() -> Path:
    return Path(os.environ.get("FACES_DIR", ROOT.parent / "shared" / "faces")).resolve()


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """../shared/faces (or $FACES_DIR); tests that need real faces skip without it."""
    path = faces_dir_path()
    if not (path / "dev").is_dir():
        pytest.skip(
            f"real face photos not found at {path}: put ../shared/faces beside the "
            "project or set FACES_DIR"
        )
    return path


@pytest.fixture
def dev_photos(faces_dir: Path):  # type: ignore[no-untyped-def]
    """dev_photos("Tom_Cruise") -> that person's LFW photos, sorted by name."""

    def photos(person: str) -> list[Path]:
        found = sorted((faces_dir / "dev" / person).glob("*.jpg"))
        assert found, f"no photos for {person} in {faces_dir / 'dev'}"
        return found

    return photos


@pytest.fixture(autouse=True)
def media_root(settings: LazySettings, tmp_path: Path) -> Iterator[Path]:
    """Every test gets its own empty MEDIA_ROOT, so it can assert on what was written."""
    media = tmp_path / "media"
    media.mkdir()
    # FileSystemStorage follows MEDIA_ROOT changes (setting_changed signal).
    settings.MEDIA_ROOT = str(media)
    yield media


@pytest.fixture(autouse=True)
def fresh_model_cache() -> Iterator[None]:
    """Each process keeps the active model loaded; a test loads the one its own training
    wrote in its own MEDIA_ROOT, never one a test before it left behind."""
    from recognition import loading

    loading.cache_clear()
    yield
    loading.cache_clear()


def media_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file())


_DB_FIXTURES = ("transactional_db", "live_server", "db")


@pytest.fixture(autouse=True)
def clear_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    """Throttle and lockout counters live in the cache (Redis in CI): start clean.

    Without Redis the cache is a database table, so only tests that may use the test
    database can (and need to) clear it.
    """
    from django.conf import settings
    from django.core.cache import cache

    if not settings.REDIS_URL:
        used = [name for name in _DB_FIXTURES if name in request.fixturenames]
        if not used and request.node.get_closest_marker("django_db") is None:
            yield
            return
        if used:
            request.getfixturevalue(used[0])  # the test database is set up first
    cache.clear()
    yield
    cache.clear()
