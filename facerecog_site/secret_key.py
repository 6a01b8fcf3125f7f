"""The SECRET_KEY: from the environment, or generated once per installation.

Without ``SECRET_KEY`` a key is generated on first use and kept in ``SECRET_KEY_FILE``
(beside the data, mode 0600, never in the repository), so a fresh checkout runs every
command without exporting anything and no two installations share a key. A server
open to other hosts (DEBUG off and ALLOWED_HOSTS not only local names) must be given
a strong key: it refuses to start without one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# The key this project once shipped for development: published, so never accepted.
PUBLISHED_DEV_KEY = "dev-only-insecure-secret-key-change-me"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
MIN_LENGTH = 50
MIN_UNIQUE_CHARACTERS = 5
GENERATE_HINT = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"


def hosts_are_local(hosts: list[str]) -> bool:
    return all(host in LOCAL_HOSTS for host in hosts)


def key_is_weak(key: str) -> bool:
    """Django's own deploy check rule, plus the key this project once published."""
    return (
        key == PUBLISHED_DEV_KEY
        or key.startswith("django-insecure-")
        or len(key) < MIN_LENGTH
        or len(set(key)) < MIN_UNIQUE_CHARACTERS
    )


def secret_key(*, configured: str, key_file: Path, production: bool) -> str:
    """The key to use; ImproperlyConfigured (naming the variable) when there is none."""
    if configured:
        if key_is_weak(configured) and (production or configured == PUBLISHED_DEV_KEY):
            raise ImproperlyConfigured(
                f"SECRET_KEY is too weak: use at least {MIN_LENGTH} random characters, "
                f"e.g. the output of {GENERATE_HINT}"
            )
        return configured
    if production:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: a server for other hosts (DEBUG off, ALLOWED_HOSTS "
            f"not local) needs a long random value, e.g. the output of {GENERATE_HINT}"
        )
    return installation_key(key_file)


def installation_key(path: Path) -> str:
    """The key stored at ``path``, created (mode 0600) by the first process to ask."""
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    except OSError as exc:
        raise ImproperlyConfigured(f"SECRET_KEY_FILE {path} cannot be read: {exc}") from None
    if existing:
        return existing
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(MIN_LENGTH) + "\n")
        try:
            # A link never replaces a file: when two processes start at once, the first
            # key written wins and both use it.
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
        return path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"SECRET_KEY_FILE {path} cannot be written ({exc}); set SECRET_KEY or "
            "SECRET_KEY_FILE to a writable place."
        ) from None
