"""Which failures of the media storage mean "the disk", not "the request"."""

from __future__ import annotations

import errno

# Disk full, quota, read-only or unwritable folder, I/O error: the server's problem,
# answered 503 storage_unavailable, never a 500 or a half-stored photo.
STORAGE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO}
)


def is_storage_failure(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS
