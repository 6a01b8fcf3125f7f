"""Which face in an enrollment photo is its subject, and when a photo is ambiguous.

Pure: boxes in, a decision out.

Rule: each face gets a *prominence* = its area x its centrality, where centrality is
1 minus the distance from the box centre to the image centre, divided by half the
image diagonal (1 at the centre, 0 in a corner). A face whose box touches the image
border is cut off by the frame (a bystander at the edge) and counts half. The most
prominent face is the subject; the photo is refused as ``multiple_faces`` when
another face reaches ``ratio`` of the subject's prominence (per engine, see
``engine.PROMINENCE_RATIO``: 0.36 for opencv, 0.4 for dlib).

Measured on ../shared/faces: with dlib's boxes the LFW crops with a bystander score
0.05-0.33 (one, Keanu_Reeves_0005 with a second, near-central face, 0.44) and every
group photo 0.46 or more (fr_two_people 0.55); with YuNet's, which also find faces cut
off at the edge, the bystanders score 0.33 or less (John_Negroponte_0004, 0.44) and the
group photos 0.39 or more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from recognition.ml.faces import Box, box_area

EDGE_MARGIN = 2
EDGE_WEIGHT = 0.5


@dataclass(frozen=True)
class SubjectChoice:
    subject: int  # index into the boxes given
    competitors: list[int]  # indices of faces comparably prominent to the subject


def prominence(box: Box, width: int, height: int) -> float:
    top, right, bottom, left = box
    area = box_area(box)
    half_diagonal = math.hypot(width / 2, height / 2) or 1.0
    offset = math.hypot((left + right) / 2 - width / 2, (top + bottom) / 2 - height / 2)
    centrality = max(0.0, 1.0 - offset / half_diagonal)
    at_edge = min(top, left, width - right, height - bottom) <= EDGE_MARGIN
    return area * centrality * (EDGE_WEIGHT if at_edge else 1.0)


def choose_subject(boxes: list[Box], *, width: int, height: int, ratio: float) -> SubjectChoice:
    """Pick the subject among ``boxes`` (at least one) of a ``width`` x ``height`` photo."""
    if not boxes:
        raise ValueError("choose_subject needs at least one box")
    scores = [prominence(box, width, height) for box in boxes]
    subject = max(range(len(boxes)), key=scores.__getitem__)
    top_score = scores[subject] or 1.0
    competitors = [
        i for i, score in enumerate(scores) if i != subject and score / top_score >= ratio
    ]
    return SubjectChoice(subject=subject, competitors=competitors)
