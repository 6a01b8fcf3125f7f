"""recognition.images: limits before decoding, strict decoding, colour conversion."""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from recognition.images import decode, encode_jpeg, to_rgb
from recognition.rejections import PhotoRejected
from tests.hostile_corpus import (
    BOMB_SIDE,
    eoi_in_scan_jpeg,
    eps_named_jpg,
    png_16bit_bomb,
    png_rgba_bomb,
    psd_named_png,
    random_bytes_in_scan_jpeg,
)
from tests.imagefiles import encode, png_declaring

MB = 1024 * 1024


def decode_default(data: bytes) -> np.ndarray:
    return decode(data, name="photo", max_bytes=10 * MB, max_pixels=40_000_000).rgb


def rejection(data: bytes, **limits: int) -> PhotoRejected:
    """The PhotoRejected that decode raises for ``data`` (default limits unless given)."""
    kwargs = {"max_bytes": 10 * MB, "max_pixels": 40_000_000, **limits}
    with pytest.raises(PhotoRejected) as info:
        decode(data, name="photo.png", **kwargs)
    return info.value


@pytest.mark.parametrize("side", [30000, 12000, 9000])
def test_png_declaring_huge_size_is_too_large_without_decoding(side, monkeypatch):
    data = png_declaring(side, side)
    assert len(data) < 50_000  # small on disk: only the header is big

    def no_decoding(self: Image.Image) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    started = time.process_time()
    error = rejection(data)
    assert error.code == "too_large"
    assert "MP" in error.message
    assert time.process_time() - started < 1.0  # guards against a decode, not a benchmark


def test_bytes_over_the_limit_are_too_large():
    data = encode(Image.new("RGB", (64, 64)), "PNG")
    assert rejection(data, max_bytes=len(data) - 1).code == "too_large"


def test_text_renamed_jpg_is_unreadable():
    assert rejection(b"hello, this is not a photo\n" * 20).code == "unreadable_image"


def test_empty_file_is_unreadable():
    assert rejection(b"").code == "unreadable_image"


def test_truncated_jpeg_is_unreadable(dev_photos):
    data = dev_photos("Tom_Cruise")[0].read_bytes()
    assert rejection(data[: len(data) // 3]).code == "unreadable_image"


def test_truncated_jpeg_stays_unreadable_after_face_recognition_import(dev_photos):
    import face_recognition  # noqa: F401 - it switches LOAD_TRUNCATED_IMAGES on

    data = dev_photos("Tom_Cruise")[0].read_bytes()
    assert rejection(data[: len(data) // 3]).code == "unreadable_image"


def test_exif_orientation_is_applied():
    upright = np.zeros((40, 20, 3), dtype=np.uint8)
    upright[:10] = 255  # white band at the top
    stored = Image.fromarray(np.rot90(upright, 1))  # sideways: 20 tall, 40 wide
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    rgb = decode_default(encode(stored, "JPEG", exif=exif.tobytes(), quality=95))
    assert rgb.shape == (40, 20, 3)
    assert rgb[:8].mean() > 200 and rgb[12:].mean() < 50


def test_16_bit_grey_is_scaled_not_clamped():
    values = np.array([[0, 16384, 32768, 65535]], dtype=np.uint16)
    data = encode(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    grey = decode_default(data)[0, :, 0]
    assert grey.tolist() == [0, 64, 128, 255]


def test_16_bit_mode_i_image_is_scaled():
    image = Image.fromarray(np.array([[0, 1000, 65535]], dtype=np.int32), mode="I")
    assert to_rgb(image)[0, :, 0].tolist() == [0, 4, 255]


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in CMYK
    rgb = decode_default(encode(cmyk, "JPEG", quality=95))
    assert rgb.shape == (16, 16, 3)
    red, green, blue = rgb.reshape(-1, 3).mean(axis=0)
    assert red > 200 and green < 60 and blue < 60


def test_palette_with_transparency_composites_on_white():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 4, 8))  # left half red, right half index 0 (transparent)
    rgb = decode_default(encode(image, "PNG", transparency=0))
    assert rgb[:, :4].reshape(-1, 3).tolist()[0] == [255, 0, 0]
    assert (rgb[:, 4:] == 255).all()  # transparent -> white, not black


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in [(255, 0, 0), (0, 0, 255)]]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    rgb = decode_default(buffer.getvalue())
    red, _green, blue = rgb.reshape(-1, 3).mean(axis=0)
    assert red > 200 and blue < 50


def test_rgba_png_composites_on_white():
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert (decode_default(encode(image, "PNG")) == 255).all()


def test_encode_jpeg_drops_metadata_and_trailing_bytes() -> None:
    rgb = np.full((32, 32, 3), 128, dtype=np.uint8)
    data = encode_jpeg(rgb)
    assert data.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
        assert image.format == "JPEG"


def test_sha256_is_of_the_uploaded_bytes() -> None:
    data = encode(Image.new("RGB", (8, 8)), "PNG")
    decoded = decode(data, name="x.png", max_bytes=MB, max_pixels=1_000_000)
    assert decoded.sha256 == hashlib.sha256(data).hexdigest()
    assert decoded.source_format == "PNG"


# --- Damaged JPEGs, the format allow-list, the memory budget ------------------------


@pytest.mark.parametrize("build", [eoi_in_scan_jpeg, random_bytes_in_scan_jpeg])
def test_damaged_scan_data_is_unreadable_even_with_truncated_loading_on(
    build, faces_dir, monkeypatch
):
    # face_recognition sets this at import; whoever sets it, the decode refuses.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    error = rejection(build(faces_dir))
    assert error.code == "unreadable_image"
    assert "damaged JPEG" in error.message


def test_every_shared_jpeg_passes_the_strict_check(faces_dir):
    for path in sorted(faces_dir.rglob("*.jpg")):
        assert decode_default(path.read_bytes()).shape[2] == 3, path


def test_postscript_is_never_parsed(monkeypatch):
    from PIL import EpsImagePlugin

    def never(self: object) -> None:
        raise AssertionError("the EPS reader was called")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", never)
    error = rejection(eps_named_jpg(Path(".")))
    assert error.code == "unreadable_image"
    assert "Ghostscript" not in error.message
    assert "JPEG, PNG, GIF, WebP, TIFF, BMP, AVIF or HEIC/HEIF" in error.message


def test_a_format_pillow_reads_but_not_allowed_is_refused():
    assert rejection(psd_named_png(Path(".")), max_bytes=10 * MB).code == "unreadable_image"


@pytest.mark.parametrize("fmt", ["WEBP", "TIFF", "BMP", "AVIF", "GIF", "PNG"])
def test_allowed_formats_decode(fmt):
    image = Image.new("RGB", (48, 32), (200, 30, 40))
    rgb = decode_default(encode(image, fmt))
    assert rgb.shape == (32, 48, 3)
    assert abs(int(rgb[16, 24, 0]) - 200) < 20


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillows_transpose(orientation):
    from PIL import ImageOps

    pixels = np.random.default_rng(orientation).integers(0, 255, (24, 40, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(Image.fromarray(pixels), "PNG", exif=exif.tobytes())
    with Image.open(io.BytesIO(data)) as image:
        expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    assert np.array_equal(decode_default(data), expected)


def test_a_jpeg_over_the_decode_budget_is_decoded_reduced(dev_photos):
    data = dev_photos("Tom_Cruise")[0].read_bytes()  # 150x150
    full = decode(data, name="a.jpg", max_bytes=10 * MB, max_pixels=10**8)
    budget = 150 * 150 * 7 // 3  # fits a half-size decode, not the full one
    reduced = decode(
        data, name="a.jpg", max_bytes=10 * MB, max_pixels=10**8, max_decode_bytes=budget
    )
    assert full.scale == 1 and full.rgb.shape == (150, 150, 3)
    assert reduced.scale == 2 and reduced.rgb.shape == (75, 75, 3)


def test_other_formats_over_the_decode_budget_are_too_large():
    data = encode(Image.new("RGBA", (100, 100)), "PNG")
    error = rejection(data, max_decode_bytes=100 * 100 * 7 - 1)
    assert error.code == "too_large"
    assert "to decode" in error.message


def test_bombs_within_the_pixel_limit_decode_in_8_bit(faces_dir):
    rgb = decode_default(png_16bit_bomb(faces_dir))
    assert rgb.shape == (BOMB_SIDE, BOMB_SIDE, 3) and rgb.dtype == np.uint8
    assert int(rgb.max()) == 0
    rgb = decode_default(png_rgba_bomb(faces_dir))
    assert int(rgb.min()) == 255  # transparent: on white


def test_heavy_decodes_beyond_the_slots_are_told_to_come_back():
    import threading

    from recognition.images import heavy_decode_slot
    from recognition.rejections import ServerBusy

    data = encode(Image.new("RGB", (100, 100)), "PNG")  # 70 KB to decode
    slot = {"threshold": 1000, "slots": 1, "wait": 0.2}
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with heavy_decode_slot(data, name="a.png", **slot):
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(5)
    with pytest.raises(ServerBusy) as info, heavy_decode_slot(data, name="b.png", **slot):
        pass
    assert info.value.code == "server_busy" and info.value.retry_after >= 1
    with heavy_decode_slot(data, name="small.png", **{**slot, "threshold": 10**6}):
        pass  # a small photo never waits
    release.set()
    holder.join()
    with heavy_decode_slot(data, name="c.png", **slot):
        pass  # the slot is free again


def heic_of(path: Path, tmp_path: Path) -> bytes:
    """``path`` re-encoded as HEIC by libheif's heif-enc (scripts/ensure-heif-enc.sh)."""
    import shutil
    import subprocess

    encoder = shutil.which("heif-enc")
    assert encoder, "heif-enc is missing: apt-get install libheif-examples"
    out = tmp_path / f"{path.stem}.heic"
    subprocess.run([encoder, "-q", "85", str(path), "-o", str(out)], check=True)
    return out.read_bytes()


def test_heic_from_a_phone_decodes_to_the_same_face(dev_photos, tmp_path):
    from recognition.analysis import Limits, analyze_enrollment

    photo = dev_photos("Tom_Cruise")[0]
    limits = Limits(
        max_bytes=10 * MB, max_pixels=40_000_000, scan_side=1024, min_face=40, prominence_ratio=0.4
    )
    heic = analyze_enrollment(heic_of(photo, tmp_path), name="phone.heic", limits=limits)
    jpeg = analyze_enrollment(photo.read_bytes(), name=photo.name, limits=limits)
    assert (heic.width, heic.height) == (jpeg.width, jpeg.height)
    assert float(np.linalg.norm(heic.embedding - jpeg.embedding)) < 0.2  # same person


def test_truncated_heic_is_unreadable(dev_photos, tmp_path):
    data = heic_of(dev_photos("Tom_Cruise")[0], tmp_path)
    assert rejection(data[: len(data) // 2]).code == "unreadable_image"
