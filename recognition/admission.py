"""Bounded admission for face analysis: a request waits a bounded time for a core, then 503.

A process runs at most FACE_IDENTIFY_CONCURRENCY analyses at once (default 1: the face
engine is CPU-bound and holds the GIL, and gunicorn runs one worker per core). Another
request waits up to FACE_IDENTIFY_WAIT seconds for a slot and is then refused with
:class:`Overloaded` (HTTP 503 with Retry-After) instead of queueing without limit, so
latency under overload stays bounded and a client learns when to come back. A request
that could not get a slot in time anyway (the requests already waiting times the
recent analysis time exceed FACE_IDENTIFY_WAIT) is refused at once: waiting first
would only hold a thread and push later requests further back (measured at 64 clients
on 2 workers: p99 15 s with 6 of 146 refused, when every request waited its full turn).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.http import HttpRequest, HttpResponse

OVERLOADED = "overloaded"


class Overloaded(Exception):
    """Every analysis slot stayed busy for FACE_IDENTIFY_WAIT seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        self.message = (
            "The server is busy analysing other photos and could not start on yours in "
            f"time; try again in {retry_after} s."
        )
        super().__init__(self.message)


_lock = threading.Lock()
_slots: tuple[int, threading.BoundedSemaphore] | None = None
_waiting = 0  # requests of this process waiting for a slot
_recent_seconds: float | None = None  # moving average of one analysis


def _semaphore() -> threading.BoundedSemaphore:
    global _slots
    size = max(1, int(settings.FACE_IDENTIFY_CONCURRENCY))
    with _lock:
        if _slots is None or _slots[0] != size:
            _slots = (size, threading.BoundedSemaphore(size))
        return _slots[1]


def expected_wait(waiting: int, slots: int) -> float:
    """Seconds until a request behind ``waiting`` others gets one of ``slots`` (0 unknown)."""
    return (waiting + 1) * (_recent_seconds or 0.0) / max(1, slots)


@contextmanager
def analysis_slot() -> Iterator[None]:
    """Hold one of this process's analysis slots; Overloaded when none frees in time."""
    global _waiting, _recent_seconds
    semaphore = _semaphore()
    wait = max(0.0, float(settings.FACE_IDENTIFY_WAIT or 0))
    refusal = Overloaded(retry_after=max(1, math.ceil(wait)))
    if not semaphore.acquire(blocking=False):
        with _lock:
            if expected_wait(_waiting, _slots[0] if _slots else 1) > wait:
                raise refusal
            _waiting += 1
        try:
            acquired = semaphore.acquire(timeout=wait)
        finally:
            with _lock:
                _waiting -= 1
        if not acquired:
            raise refusal
    started = time.monotonic()
    try:
        yield
    finally:
        semaphore.release()
        spent = time.monotonic() - started
        with _lock:
            _recent_seconds = (
                spent if _recent_seconds is None else 0.8 * _recent_seconds + 0.2 * spent
            )


def overloaded_response(exc: Overloaded) -> HttpResponse:
    response = HttpResponse(exc.message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(exc.retry_after)
    return response


class OverloadedMiddleware:
    """503 + Retry-After for the pages (the API's exception handler does the same in JSON)."""

    def __init__(self, get_response):  # type: ignore[no-untyped-def]
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Overloaded):
            return overloaded_response(exception)
        return None
