"""Small JPEG previews of stored photos, made on the fly (no cache to clean up)."""

from __future__ import annotations

import io

from PIL import Image

THUMBNAIL_SIZE = 160
THUMBNAIL_QUALITY = 85


def jpeg_thumbnail(data: bytes, *, size: int = THUMBNAIL_SIZE) -> bytes:
    """A JPEG at most ``size`` pixels on its longer side, from a stored photo's bytes."""
    with Image.open(io.BytesIO(data)) as image:
        # JPEG draft mode decodes at 1/2..1/8 scale: a 3 MP photo costs milliseconds.
        image.draft("RGB", (size, size))
        preview = image.convert("RGB")
    preview.thumbnail((size, size))
    buffer = io.BytesIO()
    preview.save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY)
    return buffer.getvalue()
