"""Safe decoding of uploaded photos into 8-bit RGB arrays, within a memory budget.

Order matters: the format is checked against an allow-list and the size limits from
the header before any pixel is decoded (a 137 KB PNG can declare 12000x12000 pixels and
cost 1.5 GB), the memory the decode will need is estimated and refused or reduced when
over FACE_DECODE_MAX_BYTES, then the image is decoded strictly (a truncated or damaged
file is an error, not a grey half-photo), converted to 8-bit RGB band by band (deep
colour scaled, not clamped, without float copies of the whole image), and turned
upright by its EXIF orientation.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from recognition.rejections import (
    TOO_LARGE,
    UNREADABLE_IMAGE,
    PhotoRejected,
    ServerBusy,
    megabytes,
)

JPEG_QUALITY = 92
# The file names enroll_folder and evaluate pick up as photos.
PHOTO_SUFFIXES = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jfif",
        ".png",
        ".gif",
        ".bmp",
        ".webp",
        ".tif",
        ".tiff",
        ".avif",
        ".heic",
        ".heif",
    }
)
# Pillow plugins ever tried on uploaded bytes. Everything else (EPS and PostScript,
# which run Ghostscript; PDF; PSD; the dozens of legacy formats) is never parsed.
# (A JPEG from a phone carrying a second, depth image opens through JPEG as "MPO".)
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF", "HEIF")
FORMAT_NAMES = "JPEG, PNG, GIF, WebP, TIFF, BMP, AVIF or HEIC/HEIF"
# Bytes per pixel Pillow keeps in memory for a mode (everything else: 4).
_PILLOW_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
# Rows converted at a time: a band of a 10,000 px wide photo is a few MB.
_BAND_ROWS = 128
_ORIENTATION = 0x0112
# 40 MP of any mode fits: (4 bytes in Pillow + 3 of RGB) x 40 MP = 280 MB.
DEFAULT_DECODE_BYTES = 300 * 1024 * 1024


@dataclass(frozen=True)
class DecodedImage:
    """An upright photo. ``rgb`` is uint8 of shape (height, width, 3).

    ``scale`` is original size / decoded size: 1, or 2, 4, 8 for a JPEG too large to
    decode whole within the memory budget (decoded reduced by its DCT).
    """

    rgb: np.ndarray
    sha256: str
    source_format: str
    scale: int = 1

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_cost(width: int, height: int, mode: str) -> int:
    """Bytes a decode of this size and mode needs at its peak: Pillow's copy + RGB."""
    return width * height * (_PILLOW_BYTES.get(mode, 4) + 3)


_heif_registered = False


def _open(data: bytes) -> Image.Image:
    """Pillow's lazy open (header only), restricted to ALLOWED_FORMATS."""
    global _heif_registered
    if not _heif_registered:
        # HEIC/HEIF (phones) through pi-heif, a decode-only libheif wheel.
        from pi_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True
    return Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)


def decode(
    data: bytes,
    *,
    name: str,
    max_bytes: int,
    max_pixels: int,
    max_decode_bytes: int = DEFAULT_DECODE_BYTES,
) -> DecodedImage:
    """Decode ``data`` (the uploaded bytes of file ``name``) or raise PhotoRejected.

    ``max_decode_bytes`` (settings.FACE_DECODE_MAX_BYTES) bounds the memory the
    decode may need: a JPEG over it is decoded at 1/2, 1/4 or 1/8 scale, any other
    format is refused as too_large.
    """
    if len(data) > max_bytes:
        raise PhotoRejected(
            TOO_LARGE,
            f"{name} is {megabytes(len(data))}; the limit is {megabytes(max_bytes)}.",
        )
    if not data:
        raise PhotoRejected(UNREADABLE_IMAGE, f"{name} is empty (0 bytes).")
    budget = max_decode_bytes
    # face_recognition switches truncated-image loading on for the whole process when
    # it is imported (possibly after this module): a cut-off upload must be refused,
    # not padded with grey, so the flag is set here, at every decode.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _open(data) as image:
                width, height = image.size
                _check_pixels(name, width, height, max_pixels)
                source_format = image.format or "unknown"
                if source_format in {"JPEG", "MPO"}:
                    _check_jpeg_stream(data, name)
                scale = _reduce_within_budget(image, name, budget)
                image.seek(0)  # the first frame of an animation
                image.load()
                orientation = _orientation(image)
                rgb = to_rgb(image)
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
            UNREADABLE_IMAGE,
            f"{name} is not an image in a format we can read ({FORMAT_NAMES}).",
        ) from None
    except MemoryError:
        raise PhotoRejected(
            TOO_LARGE, f"{name} needs more memory to decode than this server can give it."
        ) from None
    except Exception as exc:  # any decoder failure on untrusted bytes is "unreadable"
        raise PhotoRejected(
            UNREADABLE_IMAGE, f"{name} could not be decoded (damaged or truncated): {exc}."
        ) from None
    return DecodedImage(
        rgb=_upright(rgb, orientation),
        sha256=content_hash(data),
        source_format=source_format,
        scale=scale,
    )


def _check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise PhotoRejected(
            TOO_LARGE,
            f"{name} is {width}x{height} pixels ({width * height / 1e6:.1f} MP); "
            f"the limit is {max_pixels / 1e6:.1f} MP.",
        )


def _check_jpeg_stream(data: bytes, name: str) -> None:
    """Refuse a JPEG whose compressed data is damaged.

    libjpeg (inside Pillow) only warns about corrupt scan data (an end-of-image marker
    or random bytes in the middle) and fills the rest with grey; Pillow never sees the
    warning. simplejpeg's strict mode turns those warnings into errors. Decoding at
    1/8 scale in greyscale reads every coefficient but costs a 64th of the memory.
    """
    import simplejpeg

    try:
        colorspace = simplejpeg.decode_jpeg_header(data)[2]
        target = "CMYK" if colorspace in {"CMYK", "YCCK"} else "GRAY"
        simplejpeg.decode_jpeg(data, colorspace=target, min_factor=8, strict=True)
    except ValueError as exc:
        raise PhotoRejected(
            UNREADABLE_IMAGE, f"{name} is a damaged JPEG ({exc}); upload the original file."
        ) from None


def _reduce_within_budget(image: Image.Image, name: str, budget: int) -> int:
    """The scale at which ``image`` fits the decode budget (JPEG draft), or too_large."""
    width, height = image.size
    if decode_cost(width, height, image.mode) <= budget:
        return 1
    if image.format in {"JPEG", "MPO"}:
        for scale in (2, 4, 8):
            if decode_cost(-(-width // scale), -(-height // scale), image.mode) <= budget:
                # The DCT decodes straight to the smaller size: the full one never exists.
                image.draft(image.mode, (-(-width // scale), -(-height // scale)))
                return max(1, round(width / image.size[0]))
    raise PhotoRejected(
        TOO_LARGE,
        f"{name} ({width}x{height}, {image.mode}) needs about "
        f"{megabytes(decode_cost(width, height, image.mode))} to decode; this server "
        f"decodes at most {megabytes(budget)} per photo. Upload a smaller photo.",
    )


def _orientation(image: Image.Image) -> int:
    try:
        value = int(image.getexif().get(_ORIENTATION, 1))
    except Exception:  # a damaged EXIF block is ignored, as viewers do
        return 1
    return value if 1 <= value <= 8 else 1


def _upright(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an (h, w, 3) array; one copy at most."""
    if orientation == 1:
        return rgb
    turned = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, 1),
    }[orientation](rgb)
    return np.ascontiguousarray(turned)


def to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow mode -> uint8 array (h, w, 3), scaling deep colour instead of clamping.

    Converted in bands of rows into one preallocated array, so the peak is Pillow's
    image plus the RGB result, never a float or RGBA copy of the whole photo.
    """
    width, height = image.size
    peak = _deep_peak(image)
    out = np.empty((height, width, 3), dtype=np.uint8)
    for top in range(0, height, _BAND_ROWS):
        bottom = min(height, top + _BAND_ROWS)
        band = image.crop((0, top, width, bottom))
        band.info = image.info  # the palette's transparency travels with the band
        out[top:bottom] = _band_to_rgb(band, peak)
    return out


def _deep_peak(image: Image.Image) -> float:
    """The value that maps to 255 for deep greyscale modes (1.0 for others)."""
    mode = image.mode
    if mode.startswith("I;16"):
        return 65535.0
    if mode in {"I", "F"}:
        high = float(cast(float, image.getextrema()[1]))
        if mode == "I":
            return 65535.0 if high > 255 else 255.0
        return 1.0 if high <= 1.0 else 255.0
    return 1.0


def _band_to_rgb(band: Image.Image, peak: float) -> np.ndarray:
    mode = band.mode
    if mode.startswith("I;16") or mode in {"I", "F"}:
        values = np.asarray(band, dtype=np.float32)
        grey = np.clip(np.rint(values * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if (mode == "P" and "transparency" in band.info) or mode in {"RGBA", "LA", "PA", "La", "RGBa"}:
        rgba = band.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        band = Image.alpha_composite(background, rgba)
    return np.asarray(band.convert("RGB"), dtype=np.uint8)


class _HeavyDecodes:
    """At most FACE_HEAVY_DECODES photos over FACE_HEAVY_DECODE_BYTES analysed at once.

    One per process (every request thread shares it): a burst of large photos waits a
    little, then is told to come back (503) instead of multiplying the memory it costs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._semaphore: threading.BoundedSemaphore | None = None
        self._size = 0

    def semaphore(self, size: int) -> threading.BoundedSemaphore:
        with self._lock:
            if self._semaphore is None or size != self._size:
                self._semaphore, self._size = threading.BoundedSemaphore(size), size
            return self._semaphore


_heavy = _HeavyDecodes()


@contextmanager
def heavy_decode_slot(
    data: bytes, *, name: str, threshold: int, slots: int, wait: float
) -> Iterator[None]:
    """Hold one of ``slots`` while a photo costing over ``threshold`` bytes is analysed.

    Photos whose header cannot be read, or that are small, pass straight through
    (``decode`` refuses the bad ones). Raises ServerBusy when no slot frees up within
    ``wait`` seconds.
    """
    try:
        with _open(data) as image:
            cost = decode_cost(*image.size, image.mode)
    except Exception:  # unreadable or over-size: decode() says why, cheaply
        cost = 0
    if cost <= threshold:
        yield
        return
    semaphore = _heavy.semaphore(max(1, slots))
    if not semaphore.acquire(timeout=wait):
        raise ServerBusy(
            f"{name} is a large photo and the server is already decoding as many as it "
            "can; try again in a few seconds.",
            retry_after=max(1, round(wait)),
        )
    try:
        yield
    finally:
        semaphore.release()


def encode_jpeg(rgb: np.ndarray) -> bytes:
    """A clean JPEG of ``rgb`` (uint8 (h, w, 3)): no EXIF, no GPS, no trailing bytes."""
    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()
