"""Small formatting filters for the web UI's templates."""

from __future__ import annotations

from django import template

from recognition.models import TrainedModel

register = template.Library()


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """0.973 -> "97.3%"; None -> "—"."""
    if value is None:
        return "—"
    return f"{float(value) * 100:.{digits}f}%"


@register.filter
def seconds(value: float | None) -> str:
    """A duration in seconds, the way people say it: "8 s", "3 min 5 s"."""
    if value is None:
        return "—"
    total = round(float(value))
    if total < 60:
        return f"{total} s"
    minutes, rest = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@register.filter
def training_duration(model: TrainedModel) -> str:
    """How long a training took, start to finish (else its measured fitting time)."""
    if model.started_at and model.finished_at:
        return seconds((model.finished_at - model.started_at).total_seconds())
    measured = (model.metrics or {}).get("train_seconds")
    return seconds(measured) if measured is not None else "—"


REASONS = {
    "no_close_match": "no enrolled person is close enough",
    "ambiguous": "two people are almost equally close",
    "model_veto": "the model does not agree with the nearest person",
    "corrected": "corrected: a reviewer said a face like this is not that person",
    "person_deleted": "the nearest person was deleted",
}


@register.filter
def reason_text(code: str | None) -> str:
    """Why a face is unknown, in words (the API's ``reason`` code)."""
    return REASONS.get(code or "", code or "")
