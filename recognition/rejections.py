"""Why a photo was refused: a stable code for programs and a sentence for people."""

from __future__ import annotations

from dataclasses import dataclass, field

from recognition.ml.faces import Box

UNREADABLE_IMAGE = "unreadable_image"
TOO_LARGE = "too_large"
NO_FACE = "no_face"
FACE_TOO_SMALL = "face_too_small"
MULTIPLE_FACES = "multiple_faces"
DUPLICATE = "duplicate"
# Not a verdict on the photo: the server is busy with other large photos (HTTP 503).
SERVER_BUSY = "server_busy"
# Not a verdict either: the photo could not be written (disk full, folder unwritable).
STORAGE_UNAVAILABLE = "storage_unavailable"

REASON_CODES = (UNREADABLE_IMAGE, TOO_LARGE, NO_FACE, FACE_TOO_SMALL, MULTIPLE_FACES, DUPLICATE)


def megabytes(size: int) -> str:
    """A byte count the way the sentences say it: "10.0 MB"."""
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass
class PhotoRejected(Exception):
    """A photo that cannot be used; nothing was stored for it."""

    code: str
    message: str
    boxes: list[Box] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"code": self.code, "message": self.message}
        if self.boxes:
            data["boxes"] = [list(box) for box in self.boxes]
        return data


class ServerBusy(PhotoRejected):
    """Too many large photos are being decoded at once; ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(SERVER_BUSY, message)
        self.retry_after = retry_after


class StorageUnavailable(PhotoRejected):
    """The photo was fine but could not be stored; nothing (no row, no file) was kept."""

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(STORAGE_UNAVAILABLE, message)
        self.retry_after = retry_after
