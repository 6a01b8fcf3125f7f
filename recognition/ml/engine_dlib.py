"""The ``dlib`` engine: face_recognition's HOG detector and dlib's ResNet encoder.

Pure: numpy arrays in, numpy arrays out; no Django.

Detection runs the HOG detector on a resized copy whose longer side is ``scan_side``
pixels at most (and at most twice the original, which is what HOG upsampling by one
would scan on a small photo). Boxes and landmarks are mapped back to the original
image; encodings are computed on the original pixels, exactly as face_recognition's
``face_encodings`` does, so vectors match those stored before engines existed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recognition.ml.engine import DLIB, Detection, clip_box, resized, scan_scale

SCAN_SIDE = 1024
MAX_UPSCALE = 2.0


def _face_recognition() -> Any:
    # Imported lazily: dlib loads ~100 MB of models, which the web master process and
    # management commands that never look at a face should not pay for.
    import face_recognition
    from PIL import ImageFile

    # face_recognition turns truncated-image loading on for the whole process; we
    # decode strictly (see recognition.images), so switch it back.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return face_recognition


class DlibEngine:
    """face_recognition 1.3 / dlib: HOG + 5-point landmarks + ResNet (128-d, not unit)."""

    name = DLIB
    version = "dlib_resnet_v1/5pt"
    default_scan_side = SCAN_SIDE

    def detect(self, rgb: np.ndarray, *, scan_side: int | None = None) -> list[Detection]:
        api = _face_recognition().api
        height, width = rgb.shape[:2]
        scale = scan_scale(width, height, scan_side or SCAN_SIDE, MAX_UPSCALE)
        scan = resized(rgb, scale)
        # run() is what face_locations() calls, with the scores it throws away.
        rects, scores, _ = api.face_detector.run(scan, 0, 0.0)
        found = []
        for rect, score in zip(rects, scores, strict=True):
            shape = api.pose_predictor_5_point(scan, rect)
            points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32) / scale
            # The same rounding as face_recognition's _trim_css_to_bounds, then scaled.
            top, right = max(rect.top(), 0), min(rect.right(), scan.shape[1])
            bottom, left = min(rect.bottom(), scan.shape[0]), max(rect.left(), 0)
            box = clip_box(top / scale, right / scale, bottom / scale, left / scale, width, height)
            if box[1] > box[3] and box[2] > box[0]:
                found.append(Detection(box=box, landmarks=points, score=float(score)))
        return found

    def embed(self, rgb: np.ndarray, faces: list[Detection]) -> np.ndarray:
        if not faces:
            return np.zeros((0, 128), dtype=np.float32)
        boxes = [face.box for face in faces]
        vectors = _face_recognition().face_encodings(rgb, known_face_locations=boxes)
        return np.asarray(vectors, dtype=np.float32).reshape(len(faces), 128)
