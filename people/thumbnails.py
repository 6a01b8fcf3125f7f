"""Small JPEG previews of stored photos, made on the fly (no cache to clean up).

A preview shows the enrolled face, not the middle of the photo: it is a square crop
around the stored face box (with some margin for hair and chin), so a portrait photo
shows a face and not a torso.
"""

from __future__ import annotations

import io

from PIL import Image

THUMBNAIL_SIZE = 160
THUMBNAIL_QUALITY = 85
FACE_MARGIN = 0.45  # added on every side, as a share of the face box's longer side

Box = tuple[int, int, int, int]  # (top, right, bottom, left)


def face_crop_square(
    box: Box, *, width: int, height: int, margin: float = FACE_MARGIN
) -> tuple[int, int, int, int]:
    """(left, upper, right, lower): a square around ``box`` kept inside width x height.

    The square is the face's longer side plus ``margin`` of it on each side, shifted
    (not cut) to stay inside the photo, and shrunk only when the photo is too small.
    """
    top, right, bottom, left = box
    side = max(right - left, bottom - top)
    side = round(side * (1 + 2 * margin))
    side = max(1, min(side, width, height))
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    x = round(centre_x - side / 2)
    y = round(centre_y - side / 2)
    x = max(0, min(x, width - side))
    y = max(0, min(y, height - side))
    return (x, y, x + side, y + side)


def jpeg_thumbnail(
    data: bytes,
    *,
    size: int = THUMBNAIL_SIZE,
    box: Box | None = None,
    box_size: tuple[int, int] | None = None,
) -> bytes:
    """A JPEG at most ``size`` pixels on its longer side, from a stored photo's bytes.

    With ``box`` (in a photo of ``box_size`` (width, height) pixels, the stored photo's
    own size when omitted) the preview is a square crop around that face.
    """
    with Image.open(io.BytesIO(data)) as image:
        full_width, full_height = image.size
        # JPEG draft mode decodes at 1/2..1/8 scale: a 3 MP photo costs milliseconds.
        # Ask for enough pixels that the face crop, not the whole photo, is still sharp.
        wanted = size
        if box is not None:
            top, right, bottom, left = box
            face_side = max(right - left, bottom - top, 1)
            wanted = round(
                size * max(full_width, full_height) / (face_side * (1 + 2 * FACE_MARGIN))
            )
        image.draft("RGB", (wanted, wanted))
        preview = image.convert("RGB")
    if box is not None:
        reference_width, reference_height = box_size or (full_width, full_height)
        scale_x = preview.width / max(reference_width, 1)
        scale_y = preview.height / max(reference_height, 1)
        top, right, bottom, left = box
        scaled = (
            round(top * scale_y),
            round(right * scale_x),
            round(bottom * scale_y),
            round(left * scale_x),
        )
        preview = preview.crop(face_crop_square(scaled, width=preview.width, height=preview.height))
    preview.thumbnail((size, size))
    buffer = io.BytesIO()
    preview.save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY)
    return buffer.getvalue()
