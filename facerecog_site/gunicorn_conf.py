"""gunicorn settings for ``make serve`` (scripts/serve.sh): one worker per core.

Read by the gunicorn master, which never imports Django, the face engine or the model:
each worker loads the application after the fork and warms the face engine and the
active model once (``post_worker_init``), so no request pays for it and nothing heavy is
shared across a fork. TensorFlow is never loaded in a web process (serving runs the
model in numpy).

Environment (defaults in brackets): RUN_ADDRESS [127.0.0.1:8000], WEB_WORKERS [number
of cores], WEB_THREADS [8], WEB_COMPUTE_THREADS [1], WEB_TIMEOUT [60], WEB_BACKLOG [64],
DATABASE_CONN_MAX_AGE [600 here; 0 elsewhere].
"""

from __future__ import annotations

import os
from typing import Any


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# Each worker answers one identification at a time per core it owns; BLAS/OpenMP/OpenCV
# pools sized to the machine in every worker would fight over the same cores (measured:
# one dlib identification 82 ms with one thread vs 147 ms with the default pool while
# other processes were busy). Set here, before any worker imports numpy or dlib.
COMPUTE_THREADS = str(max(1, _int("WEB_COMPUTE_THREADS", 1)))
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = COMPUTE_THREADS

# A worker's threads live as long as it does, so each keeps its database connection
# across requests instead of opening one per request (measured on SQLite: +5% identify
# throughput at 16 clients; a new connection runs the WAL pragmas again). Workers read
# this when they load Django, after the fork; an explicit setting wins.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "600")

_address = os.environ.get("RUN_ADDRESS") or "127.0.0.1:8000"
bind = [_address if ":" in _address else f"127.0.0.1:{_address}"]  # a bare port, as make run
workers = max(1, _int("WEB_WORKERS", cores()))
# Threads only wait (for the body, the database, a compute slot): the admission limit
# (FACE_IDENTIFY_CONCURRENCY per worker) decides how many identifications compute at
# once, and a request that cannot get a slot within FACE_IDENTIFY_WAIT seconds is
# answered 503 with Retry-After instead of queueing without limit.
worker_class = "gthread"
threads = max(1, _int("WEB_THREADS", 8))
# Connections a worker holds at once: one per thread plus as many idle keep-alive ones;
# more wait in the listen backlog, which is bounded too.
worker_connections = threads * 2
backlog = max(1, _int("WEB_BACKLOG", 64))
timeout = max(5, _int("WEB_TIMEOUT", 60))
# SIGTERM: finish requests in flight for at most this long (serve.sh stops everything
# within 10 s).
graceful_timeout = 5
keepalive = 5
# A worker's memory grows with fragmentation over days; replace it now and then (jitter
# so the workers do not restart together).
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
errorlog = "-"
# %(M)s: request time in milliseconds.
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'
proc_name = "facerecog-web"
# gunicorn 27's runtime control socket sits at one path per user: two instances on a
# machine would fight over it, and nothing here uses it.
control_socket_disable = True


def post_worker_init(worker: Any) -> None:
    """In each worker, after the fork and after Django is set up: load what requests use."""
    from recognition.warmup import warm_up

    warm_up(compute_threads=int(COMPUTE_THREADS), log=worker.log.info)
