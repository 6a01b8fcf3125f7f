"""Scoring identification against known answers.

One rule for ``manage.py evaluate`` and ``bench/accuracy.py``: the face judged is the
photo's subject (the most prominent face, as in enrollment); a known person's photo is
named correctly, wrongly or called unknown; a stranger's photo is rejected or accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from recognition.ml.subject import choose_subject
from recognition.services.identify import FaceAnswer, IdentificationResult

# (who is really in the photo, or None for a stranger; who was named, or None)
Judged = tuple[int | None, int | None]


def result_subject(result: IdentificationResult) -> FaceAnswer | None:
    """The answer for the photo's subject; None when no face was found."""
    if not result.faces:
        return None
    boxes = [face.box for face in result.faces]
    choice = choose_subject(boxes, width=result.width, height=result.height, ratio=1.0)
    return result.faces[choice.subject]


MISSES = {"wrong", "unknown", "accepted"}


def evaluation_outcome(truth: int | None, named: int | None) -> str:
    """correct | wrong | unknown (a known face) | rejected | accepted (a stranger)."""
    if truth is None:
        return "rejected" if named is None else "accepted"
    if named is None:
        return "unknown"
    return "correct" if named == truth else "wrong"


def evaluation_counts(judged: Iterable[Judged]) -> dict[str, int]:
    counts = {"correct": 0, "wrong": 0, "unknown": 0, "rejected": 0, "accepted": 0}
    for truth, named in judged:
        counts[evaluation_outcome(truth, named)] += 1
    return counts


def evaluation_report(judged: Iterable[Judged], *, skipped: int = 0) -> dict[str, Any]:
    """Shares of known faces named correctly/wrongly/unknown and of strangers rejected."""
    counts = evaluation_counts(judged)
    known = counts["correct"] + counts["wrong"] + counts["unknown"]
    strangers = counts["rejected"] + counts["accepted"]
    return {
        "known_faces": known,
        "named_correctly": _share(counts["correct"], known),
        "named_wrongly": _share(counts["wrong"], known),
        "called_unknown": _share(counts["unknown"], known),
        "strangers": strangers,
        "strangers_rejected": _share(counts["rejected"], strangers),
        "skipped": skipped,
        "counts": counts,
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
