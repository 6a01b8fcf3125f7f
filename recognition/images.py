"""Safe decoding of uploaded photos into 8-bit RGB arrays.

Order matters: size limits are checked from the header before any pixel is decoded
(a 137 KB PNG can declare 12000x12000 pixels and cost 1.5 GB), then the image is
decoded strictly (a truncated file is an error, not a grey half-photo), turned upright
by its EXIF orientation, and converted to RGB without clamping deep colour.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from recognition.rejections import TOO_LARGE, UNREADABLE_IMAGE, PhotoRejected, megabytes

JPEG_QUALITY = 92
# The file names enroll_folder and evaluate pick up as photos.
PHOTO_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".jfif"}
)


@dataclass(frozen=True)
class DecodedImage:
    """An upright photo. ``rgb`` is uint8 of shape (height, width, 3)."""

    rgb: np.ndarray
    sha256: str
    source_format: str

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode(data: bytes, *, name: str, max_bytes: int, max_pixels: int) -> DecodedImage:
    """Decode ``data`` (the uploaded bytes of file ``name``) or raise PhotoRejected."""
    if len(data) > max_bytes:
        raise PhotoRejected(
            TOO_LARGE,
            f"{name} is {megabytes(len(data))}; the limit is {megabytes(max_bytes)}.",
        )
    if not data:
        raise PhotoRejected(UNREADABLE_IMAGE, f"{name} is empty.")
    # face_recognition switches truncated-image loading on for the whole process when
    # it is imported; a cut-off upload must be refused, not padded with grey.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise PhotoRejected(
                    TOO_LARGE,
                    f"{name} is {width}x{height} pixels ({width * height / 1e6:.1f} MP); "
                    f"the limit is {max_pixels / 1e6:.1f} MP.",
                )
            source_format = image.format or "unknown"
            image.seek(0)  # the first frame of an animation
            image.load()
            rgb = to_rgb(ImageOps.exif_transpose(image))
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard fires inside Image.open, before our check, for headers
        # declaring more than ~89 MP: that is an over-size photo, not an unreadable one.
        raise PhotoRejected(
            TOO_LARGE,
            f"{name} declares more pixels than the limit of {max_pixels / 1e6:.1f} MP.",
        ) from None
    except UnidentifiedImageError:
        raise PhotoRejected(
            UNREADABLE_IMAGE, f"{name} is not an image in a format we can read."
        ) from None
    except Exception as exc:  # any decoder failure on untrusted bytes is "unreadable"
        raise PhotoRejected(
            UNREADABLE_IMAGE, f"{name} could not be decoded (damaged or truncated): {exc}."
        ) from None
    return DecodedImage(rgb=rgb, sha256=content_hash(data), source_format=source_format)


def to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow mode -> uint8 array (h, w, 3), scaling deep colour instead of clamping."""
    mode = image.mode
    if mode in {"I;16", "I;16B", "I;16L", "I;16N", "I"}:
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        grey = np.clip(np.rint(values * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        peak = 1.0 if values.max(initial=0) <= 1.0 else 255.0
        grey = np.clip(np.rint(values * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if (mode == "P" and "transparency" in image.info) or mode in {"RGBA", "LA", "PA", "La", "RGBa"}:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def encode_jpeg(rgb: np.ndarray) -> bytes:
    """A clean JPEG of ``rgb`` (uint8 (h, w, 3)): no EXIF, no GPS, no trailing bytes."""
    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()
