"""The ML core: numpy arrays and paths in and out; no Django, no ORM, no HTTP."""

from __future__ import annotations

from collections.abc import Callable

# How long jobs report how far they are: (done, total), e.g. epochs or photos.
Progress = Callable[[int, int], None]
