"""The ``opencv`` engine: YuNet finds faces, SFace embeds them (both ONNX, run by OpenCV).

Pure: numpy arrays in, numpy arrays out; no Django.

Detection: the photo is scaled so its longer side is ``scan_side`` (640) pixels, small
photos enlarged at most ``MAX_UPSCALE`` (2) times (the equal error rate on dev/ pairs
was 0.45% at native size, 0.32% at 2x, 0.38% at 4x, which scans 4x the pixels). YuNet's
input size is set to that image's size (it must be set per image), and faces scoring at
least ``SCORE_THRESHOLD`` are kept. Boxes and landmarks are mapped back to the
original's pixels.

A detection scoring under ``CONFIRM_BELOW`` (0.9) is kept only when YuNet finds it
again, scoring at least ``CONFIRM_SCORE`` (0.75), in its own upright, landmark-aligned
crop: on ../shared/faces the one false positive at score >= 0.7 (a dog's face in
noface/dlib_dogs.jpg, 0.86) re-scores 0.68, while every enrollment subject of dev/
re-scores 0.87 or more, the annotated group faces 0.80 or more and 127 of 128 faces
rotated by 30 degrees 0.85 or more (bench/engines.py prints the counts). Most faces
score 0.9 or more and skip the second look (~3 ms a face).

Embedding: each face is aligned on its five landmarks into a 112x112 crop of the
original (``FaceRecognizerSF.alignCrop``), and SFace runs through ``cv2.dnn``: in
OpenCV 5 ``FaceRecognizerSF.feature()`` fails on this model (its input must be named
``data``), and the network expects RGB (``swapRB=True`` on the BGR crop; without it the
equal error rate on dev/ doubles). Vectors are L2-normalised to unit length.

Very large faces are first shrunk so the crop is taken from about ``ALIGN_SOURCE``
pixels of face: a 112 px warp straight out of a 1,000 px face aliases (the embedding of
a large photo drifted from the same person's small photos).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from recognition.ml.engine import OPENCV, Detection, clip_box, resized, scan_scale
from recognition.ml.model_files import SFACE, YUNET, verified_path

SCAN_SIDE = 640
MAX_UPSCALE = 2.0
SCORE_THRESHOLD = 0.7
NMS_THRESHOLD = 0.3
TOP_K = 5000
CROP = 112
ALIGN_SOURCE = 224  # face width (px) the crop is taken from, at most
CONFIRM_BELOW = 0.9
CONFIRM_SCORE = 0.75
CONFIRM_PAD = 56  # grey margin around the 112 px crop: YuNet needs to see the face's edges


def _cv2() -> Any:
    # Imported lazily like dlib: the web master and commands that never look at a face
    # should not load OpenCV's DNN module (and its thread pool) before django-q2 forks.
    import cv2

    return cv2


class OpenCVEngine:
    """YuNet + SFace. One instance per process (see ``engine.get_engine``); thread-safe."""

    name = OPENCV
    version = "yunet-2023mar-int8bq+sface-2021dec-int8bq/v1"
    default_scan_side = SCAN_SIDE

    def __init__(self, *, model_dir: Path | None = None) -> None:
        # Both files are checked before either is loaded (ModelFilesError otherwise).
        yunet = verified_path(YUNET, model_dir)
        sface = verified_path(SFACE, model_dir)
        cv2 = _cv2()
        # One OpenCV thread per process: web requests and enroll_folder's workers already
        # run in parallel, and on two busy cores OpenCV's own pool made an LFW photo's
        # identification 2.4x slower (110 ms vs 45 ms at load 8, bench/identify.py).
        cv2.setNumThreads(1)
        quiet = cv2.utils.logging.getLogLevel()
        # OpenCV 5 warns on stderr that its new graph engine ignores targets: noise.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            self._detector = cv2.FaceDetectorYN.create(
                str(yunet), "", (SCAN_SIDE, SCAN_SIDE), SCORE_THRESHOLD, NMS_THRESHOLD, TOP_K
            )
            self._aligner = cv2.FaceRecognizerSF.create(str(sface), "")
            self._net = cv2.dnn.readNetFromONNX(str(sface))
        finally:
            cv2.utils.logging.setLogLevel(quiet)
        # The detector's input size and the net's input are per-call state.
        self._detect_lock = threading.Lock()
        self._embed_lock = threading.Lock()

    def detect(self, rgb: np.ndarray, *, scan_side: int | None = None) -> list[Detection]:
        height, width = rgb.shape[:2]
        scale = scan_scale(width, height, scan_side or SCAN_SIDE, MAX_UPSCALE)
        scan = np.ascontiguousarray(resized(rgb, scale)[:, :, ::-1])  # YuNet reads BGR
        with self._detect_lock:
            self._detector.setInputSize((scan.shape[1], scan.shape[0]))
            _, rows = self._detector.detect(scan)
        found = []
        for row in rows if rows is not None else []:
            x, y, w, h = (float(v) / scale for v in row[:4])
            box = clip_box(y, x + w, y + h, x, width, height)
            if box[1] <= box[3] or box[2] <= box[0]:
                continue
            landmarks = (np.asarray(row[4:14], dtype=np.float32) / scale).reshape(5, 2)
            face = Detection(box=box, landmarks=landmarks, score=float(row[14]))
            if face.score < CONFIRM_BELOW and self._second_look(rgb, face) < CONFIRM_SCORE:
                continue
            found.append(face)
        return found

    def _second_look(self, rgb: np.ndarray, face: Detection) -> float:
        """YuNet's best score for a face near the centre of ``face``'s aligned crop."""
        cv2 = _cv2()
        crop = cv2.copyMakeBorder(
            self._aligned(rgb, face), *[CONFIRM_PAD] * 4, cv2.BORDER_CONSTANT, value=(128,) * 3
        )
        side = CROP + 2 * CONFIRM_PAD
        with self._detect_lock:
            self._detector.setInputSize((side, side))
            _, rows = self._detector.detect(crop)
        best = 0.0
        for row in rows if rows is not None else []:
            centre_x, centre_y = row[0] + row[2] / 2, row[1] + row[3] / 2
            if max(abs(centre_x - side / 2), abs(centre_y - side / 2)) <= CROP / 3:
                best = max(best, float(row[14]))
        return best

    def embed(self, rgb: np.ndarray, faces: list[Detection]) -> np.ndarray:
        if not faces:
            return np.zeros((0, 128), dtype=np.float32)
        cv2 = _cv2()
        crops = [self._aligned(rgb, face) for face in faces]
        blob = cv2.dnn.blobFromImages(crops, 1.0, (CROP, CROP), (0, 0, 0), swapRB=True)
        with self._embed_lock:
            self._net.setInput(blob, "data")
            vectors = np.asarray(self._net.forward(), dtype=np.float32).reshape(len(faces), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)

    def _aligned(self, rgb: np.ndarray, face: Detection) -> np.ndarray:
        """The 112x112 BGR crop of ``face``, aligned on its landmarks.

        Only the face's neighbourhood is converted (and shrunk, for a large face):
        copying a whole 3 MP photo to BGR costs ~11 ms, half the embedding itself.
        """
        top, right, bottom, left = face.box
        size = max(right - left, bottom - top, 1)
        y0, y1 = max(0, top - size), min(rgb.shape[0], bottom + size)
        x0, x1 = max(0, left - size), min(rgb.shape[1], right + size)
        source = np.ascontiguousarray(rgb[y0:y1, x0:x1, ::-1])
        landmarks = face.landmarks - np.array([x0, y0], dtype=np.float32)
        shrink = min(1.0, ALIGN_SOURCE / size)
        if shrink < 1.0:
            source = resized(source, shrink)
            landmarks = landmarks * shrink
        row = np.zeros((1, 15), dtype=np.float32)
        row[0, 4:14] = landmarks.reshape(-1)
        return self._aligner.alignCrop(source, row)
