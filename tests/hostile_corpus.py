"""Hostile uploads, built at run time from ../shared/faces (no binaries in the repo).

Each case is a file name, its bytes and the rejection code every upload path must give
(None: a readable photo without a face, refused as no_face by enrollment and answered
with no faces by identification). Used by tests/test_hostile_uploads.py and
bench/hostile.py.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tests.imagefiles import png_chunk, png_declaring

BOMB_SIDE = 6300  # 39.7 MP: inside the default 40 MP limit, the costliest accepted size


@dataclass(frozen=True)
class HostileFile:
    name: str
    build: Callable[[Path], bytes]
    code: str | None  # expected rejection code; None = decodes, no face in it
    heavy: bool = False  # a decompression-bomb-like photo (slow: seconds to analyse)


def _face_jpeg(faces_dir: Path) -> bytes:
    return sorted((faces_dir / "dev" / "Tom_Cruise").glob("*.jpg"))[0].read_bytes()


def _scan_start(data: bytes) -> int:
    """Offset of the first byte of entropy-coded data (after the SOS header)."""
    sos = data.index(b"\xff\xda")
    return sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")


def truncated_jpeg(faces_dir: Path) -> bytes:
    data = _face_jpeg(faces_dir)
    return data[: len(data) * 2 // 3]


def eoi_in_scan_jpeg(faces_dir: Path) -> bytes:
    """An end-of-image marker 60% into the scan data: libjpeg greys out the rest."""
    data = _face_jpeg(faces_dir)
    start = _scan_start(data)
    cut = start + (len(data) - start) * 6 // 10
    return data[:cut] + b"\xff\xd9" + data[cut:]


def random_bytes_in_scan_jpeg(faces_dir: Path) -> bytes:
    """300 random bytes written over the middle of the scan data."""
    data = bytearray(_face_jpeg(faces_dir))
    start = _scan_start(bytes(data))
    middle = start + (len(data) - start) // 2
    noise = random.Random(10).randbytes(300)
    data[middle : middle + 300] = noise
    return bytes(data)


def eps_named_jpg(faces_dir: Path) -> bytes:
    """PostScript that Pillow's EPS plugin would hand to Ghostscript."""
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n%%EndComments\n"
        b"newpath 0 0 moveto 64 64 lineto stroke showpage\n%%EOF\n"
    )


def png_16bit_bomb(faces_dir: Path) -> bytes:
    """16-bit greyscale, BOMB_SIDE square, all zeros: ~75 KB, 79 MB of samples."""
    return _png_of_zeros(BOMB_SIDE, bit_depth=16, colour_type=0, bytes_per_pixel=2)


def png_rgba_bomb(faces_dir: Path) -> bytes:
    """8-bit RGBA, BOMB_SIDE square, all zeros (transparent): 159 MB of samples."""
    return _png_of_zeros(BOMB_SIDE, bit_depth=8, colour_type=6, bytes_per_pixel=4)


def _png_of_zeros(side: int, *, bit_depth: int, colour_type: int, bytes_per_pixel: int) -> bytes:
    header = struct.pack(">IIBBBBB", side, side, bit_depth, colour_type, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (side * bytes_per_pixel + 1)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def png_declaring_huge(faces_dir: Path) -> bytes:
    return png_declaring(30000, 30000)


def zero_bytes(faces_dir: Path) -> bytes:
    return b""


def text_named_jpg(faces_dir: Path) -> bytes:
    return b"name,photo\nalice,alice.jpg\n" * 20


def psd_named_png(faces_dir: Path) -> bytes:
    """A format Pillow reads but that is not on the allow-list (Photoshop)."""
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 64, 64, 8, 3)
    return header + struct.pack(">I", 0) * 3 + struct.pack(">H", 0) + b"\x00" * (64 * 64 * 3)


def gif_no_face(faces_dir: Path) -> bytes:
    """A readable format, nothing to find: the control case."""
    buffer = io.BytesIO()
    with Image.open(faces_dir / "noface" / "skimage_coffee.jpg") as image:
        image.convert("RGB").save(buffer, format="GIF")
    return buffer.getvalue()


CORPUS = [
    HostileFile("truncated.jpg", truncated_jpeg, "unreadable_image"),
    HostileFile("eoi_in_scan.jpg", eoi_in_scan_jpeg, "unreadable_image"),
    HostileFile("random_scan.jpg", random_bytes_in_scan_jpeg, "unreadable_image"),
    HostileFile("postscript.jpg", eps_named_jpg, "unreadable_image"),
    HostileFile("photoshop.png", psd_named_png, "unreadable_image"),
    HostileFile("empty.jpg", zero_bytes, "unreadable_image"),
    HostileFile("notes.jpg", text_named_jpg, "unreadable_image"),
    HostileFile("huge_header.png", png_declaring_huge, "too_large"),
    HostileFile("grey16_bomb.png", png_16bit_bomb, None, heavy=True),
    HostileFile("rgba_bomb.png", png_rgba_bomb, None, heavy=True),
    HostileFile("coffee.gif", gif_no_face, None),
]
