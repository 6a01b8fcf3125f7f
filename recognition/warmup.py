"""Load what identification needs once per web worker, after the fork.

Called by gunicorn's ``post_worker_init`` (facerecog_site/gunicorn_conf.py): the face
engine's models (~100 MB) and the active model are read here, in the worker, so the
master stays small and no request pays the first-load cost.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError, connections


def warm_up(*, compute_threads: int, log: Callable[..., None]) -> None:
    import cv2
    import numpy as np

    from recognition.analysis import Limits
    from recognition.loading import NoActiveModel, active_model
    from recognition.ml import faces
    from recognition.ml.engine import EngineUnavailable

    try:
        engine = Limits.from_settings().face_engine()
    except EngineUnavailable as exc:  # enrollment and identification will say so too
        log("worker: the face engine cannot run: %s", exc)
        connections.close_all()
        return
    # After the engine: OpenCV sizes its own pool to the machine, and one worker per
    # core must not oversubscribe.
    cv2.setNumThreads(compute_threads)
    faces.find_faces(np.zeros((64, 64, 3), dtype=np.uint8), engine=engine, scan_side=64)
    try:
        loaded = active_model()
        if loaded.engine != engine.name:  # identification embeds with the model's engine
            Limits.from_settings(engine=loaded.engine).face_engine()
            cv2.setNumThreads(compute_threads)
        log("worker ready: face engine and model #%s loaded", loaded.record.pk)
    except NoActiveModel as exc:
        log("worker ready: face engine loaded; no model yet (%s)", exc)
    except DatabaseError as exc:
        log("worker ready: face engine loaded; database not reachable yet (%s)", exc)
    except EngineUnavailable as exc:
        log("worker ready; the active model's face engine cannot run: %s", exc)
    finally:
        # Opened outside a request: close it, requests open their own.
        connections.close_all()
